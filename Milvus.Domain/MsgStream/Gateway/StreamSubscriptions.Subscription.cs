using Milvus.Domain.MsgStream.Streams;

namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>One subscription: its stream, its gate (one call at a time), its checkpoints and when it was last used.</summary>
public sealed partial class StreamSubscriptions
{
    private sealed class Subscription(string[] channels, bool timeTickAligned, bool streaming, IMsgStream stream)
    {
        private long _lastUsed;

        public string[] Channels { get; } = channels;

        public bool TimeTickAligned { get; } = timeTickAligned;

        public bool Streaming { get; } = streaming;

        public IMsgStream Stream { get; set; } = stream;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>The client that opened it (an API key's hash or an address), counted against its own limit.</summary>
        public string? Client { get; init; }

        /// <summary>Where the subscription resumes after a restart (saved in the meta KV, but for SSE).</summary>
        public SubscriptionCheckpoint? Checkpoint { get; set; }

        /// <summary>The checkpoint past the answers given since, which the next consume acknowledges.</summary>
        public SubscriptionCheckpoint? Pending { get; set; }

        /// <summary>Set, under the gate, once the subscription has ended: a call that waited for the gate opens anew.</summary>
        public bool Ended { get; set; }

        /// <summary>This gateway let go of it for another one: its end leaves the groups and checkpoint alone.</summary>
        public bool LetGo { get; set; }

        public long LastUsed => Interlocked.Read(ref _lastUsed);

        public void Touch(TimeProvider time) => Interlocked.Exchange(ref _lastUsed, time.GetTimestamp());
    }
}
