using System.Threading.Channels;
using Milvus.Domain.Mq;

namespace Milvus.Domain.MsgStream.Streams;

/// <summary>
/// A stream of <see cref="MsgPack"/>s over an <see cref="IMqClient"/> (message-stream seed, A.3). As a producer it
/// repacks messages onto its channels; as a consumer it reads its channels through one consumer group per
/// (subscription, channel) and hands packs out through <see cref="Chan"/> or <see cref="ConsumeAsync"/>.
/// The usual order is <see cref="AsProducerAsync"/> and/or <see cref="AsConsumerAsync"/>, then optionally
/// <see cref="SeekAsync"/>, then <see cref="Start"/>; <see cref="CloseAsync"/> (or disposing) ends it.
/// </summary>
public interface IMsgStream : IAsyncDisposable
{
    /// <summary>The channels this stream produces into, in repack order (empty before <see cref="AsProducerAsync"/>).</summary>
    IReadOnlyList<string> ProducerChannels { get; }

    /// <summary>The channels this stream consumes from (empty before <see cref="AsConsumerAsync"/>).</summary>
    IReadOnlyList<string> ConsumerChannels { get; }

    /// <summary>The subscription name, which is also the consumer group on every channel (null before <see cref="AsConsumerAsync"/>).</summary>
    string? SubName { get; }

    /// <summary>Makes the stream produce into <paramref name="channels"/>, creating those that do not exist yet.</summary>
    /// <exception cref="MsgStreamException">The stream is already a producer, or closed, or the list is empty or repeats a name.</exception>
    /// <exception cref="MqInvalidNameException">A channel name is not valid.</exception>
    Task AsProducerAsync(IReadOnlyList<string> channels, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes the stream consume <paramref name="channels"/> as subscription <paramref name="subName"/>: one consumer
    /// group named <paramref name="subName"/> per channel, created (with the channel if needed) at
    /// <paramref name="position"/>. A group that exists already resumes where it stopped; the position only
    /// applies to a new one. A group's persisted position runs ahead of what a time-ticked stream has released (it
    /// holds later messages back), so to resume exactly after a restart, seek to the last pack's end positions.
    /// </summary>
    /// <exception cref="MsgStreamException">The stream is already a consumer, started or closed, or the list is empty or repeats a name.</exception>
    /// <exception cref="MqInvalidNameException">A channel or the subscription name is not valid.</exception>
    Task AsConsumerAsync(IReadOnlyList<string> channels, string subName, MqStartPosition position, CancellationToken cancellationToken = default);

    /// <summary>Replaces the repack function that <see cref="ProduceAsync"/> uses (by default <see cref="RepackFuncs.Default"/>).</summary>
    void SetRepackFunc(RepackFunc repackFunc);

    /// <summary>Starts reading the consumer channels in the background; does nothing for a producer-only stream or when started already.</summary>
    /// <exception cref="MsgStreamException">The stream is closed.</exception>
    void Start();

    /// <summary>
    /// Stops the background reader and waits for it; <see cref="Chan"/> completes and a pending
    /// <see cref="ConsumeAsync"/> returns null. Closing twice is harmless.
    /// </summary>
    Task CloseAsync();

    /// <summary>
    /// Repacks <paramref name="pack"/> over the producer channels and writes each channel's part as one batch.
    /// Returns where each written message landed (channel, queue message id, message EndTs), grouped by channel in
    /// repack order. An empty pack is a no-op.
    /// </summary>
    /// <exception cref="MsgStreamException">The stream is not a producer, or closed, or the repack named a channel that does not exist.</exception>
    /// <exception cref="ArgumentException">The default repack cannot route a message (no hash key, or keys that do not match its rows).</exception>
    Task<IReadOnlyList<MsgPosition>> ProduceAsync(MsgPack pack, CancellationToken cancellationToken = default);

    /// <summary>Writes every message of <paramref name="pack"/> into every producer channel; returns the positions, channel by channel.</summary>
    /// <exception cref="MsgStreamException">The stream is not a producer, or closed, or the pack is empty.</exception>
    Task<IReadOnlyList<MsgPosition>> BroadcastAsync(MsgPack pack, CancellationToken cancellationToken = default);

    /// <summary>
    /// The next pack, waiting at most <paramref name="wait"/> (forever when null). Returns null when none came in
    /// time or the stream is closed.
    /// </summary>
    /// <exception cref="MqException">Reading the queue failed; the stream stays failed.</exception>
    /// <exception cref="MsgUnmarshalException">A channel holds bytes that are not a stream message; the stream stays failed.</exception>
    Task<MsgPack?> ConsumeAsync(TimeSpan? wait = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves the subscription so that each named channel resumes at its position's message, inclusively. The
    /// positions' consumer group is ignored: this stream reads with its own. A time-ticked stream needs one
    /// position per channel and then drops messages up to the positions' timestamp until it reads a tick at or
    /// above it. Call it after <see cref="AsConsumerAsync"/> and before <see cref="Start"/>.
    /// </summary>
    /// <exception cref="MsgStreamException">The stream is not a consumer, or started, or a position names another channel.</exception>
    /// <exception cref="MqMsgIdNotFoundException">A position's message is no longer stored.</exception>
    Task SeekAsync(IReadOnlyList<MsgPosition> positions, CancellationToken cancellationToken = default);

    /// <summary>
    /// The packs as they become ready, from a bounded buffer (a slow reader holds the background reader back). It
    /// completes when the stream closes, or with the error that stopped the reader.
    /// </summary>
    ChannelReader<MsgPack> Chan();
}

/// <summary>A message stream was used wrongly, e.g. producing before <see cref="IMsgStream.AsProducerAsync"/>.</summary>
public sealed class MsgStreamException(ErrorKind kind, string message) : Exception(message), IMilvusError
{
    public ErrorKind Kind { get; } = kind;

    internal static MsgStreamException Invalid(string message) => new(ErrorKind.Invalid, message);
}
