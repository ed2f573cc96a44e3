using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Mq;

namespace Milvus.Domain.MsgStream.Streams;

/// <summary>
/// The time-ticked stream (Milvus's TtMsgStream): it reads each channel up to its next time tick and releases a
/// pack <c>(lastTick, tick]</c> only when every channel has reached the same tick, holding exactly the messages
/// with <c>EndTs</c> in that range; later messages wait for a later pack. The alignment itself is
/// <see cref="TimeTickAligner"/>; this class feeds it from the queue one message at a time, so that a channel
/// read far ahead never skips a tick.
/// </summary>
internal sealed class TtMsgStream : MsgStreamBase
{
    private TimeTickAligner? _aligner;

    /// <summary>A time-ticked stream over <paramref name="mq"/>.</summary>
    public TtMsgStream(IMqClient mq, UnmarshalDispatcher dispatcher, TimeProvider time, ILogger<TtMsgStream> logger, MsgStreamSettings? settings = null)
        : base(mq, dispatcher, time, logger, settings ?? new MsgStreamSettings())
    {
    }

    private protected override void OnSubscribed(string[] channels, string group) => _aligner = new TimeTickAligner(channels, group);

    private protected override void OnSeek(IReadOnlyList<MsgPosition> positions) => _aligner!.Seek(positions);

    private protected override async Task PumpAsync(ChannelReads reads, ChannelWriter<MsgPack> output, CancellationToken cancellationToken)
    {
        var aligner = _aligner!;
        // Messages read from each channel but not yet offered: a channel is offered no further than its next tick.
        var unread = Enumerable.Range(0, reads.Count).Select(_ => new Queue<(TsMsg Msg, MsgPosition Position)>()).ToArray();
        // Messages passed over since the last pack; the next pack reports them.
        var skipped = new List<SkippedMsg>();
        while (true)
        {
            bool progress;
            do
            {
                progress = false;
                for (var i = 0; i < reads.Count; i++)
                {
                    while (aligner.NeedsMore(i) && unread[i].TryDequeue(out var next))
                    {
                        aligner.Offer(i, next.Msg, next.Position);
                        progress = true;
                    }
                }
                while (aligner.TryCut(out var pack))
                {
                    if (skipped.Count > 0)
                    {
                        pack.Skipped.AddRange(skipped);
                        skipped.Clear();
                    }
                    await output.WriteAsync(pack, cancellationToken).ConfigureAwait(false);
                    progress = true;
                }
            }
            while (progress);
            for (var i = 0; i < reads.Count; i++)
            {
                if (aligner.NeedsMore(i) && unread[i].Count == 0)
                {
                    reads.Request(i);
                }
            }
            var (index, messages) = await reads.NextAsync().ConfigureAwait(false);
            if (messages.Count > 0 && unread[index].Count == 0)
            {
                // Read ahead while this batch is decoded: at most one batch waits undecoded per channel.
                reads.Request(index);
            }
            foreach (var message in messages)
            {
                if (TryDecode(reads.Channels[index], reads.Group, message, out var decoded, out var skip))
                {
                    unread[index].Enqueue(decoded);
                }
                else
                {
                    skipped.Add(skip!);
                }
            }
        }
    }
}
