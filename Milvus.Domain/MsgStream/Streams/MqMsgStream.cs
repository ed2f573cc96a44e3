using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Mq;

namespace Milvus.Domain.MsgStream.Streams;

/// <summary>
/// The plain stream: each batch read from a channel becomes one pack, as soon as it is read, with no ordering
/// between channels. The pack's start and end positions are its first and last message's.
/// </summary>
internal sealed class MqMsgStream : MsgStreamBase
{
    /// <summary>A plain stream over <paramref name="mq"/>.</summary>
    public MqMsgStream(IMqClient mq, UnmarshalDispatcher dispatcher, TimeProvider time, ILogger<MqMsgStream> logger, MsgStreamSettings? settings = null)
        : base(mq, dispatcher, time, logger, settings ?? new MsgStreamSettings())
    {
    }

    private protected override async Task PumpAsync(ChannelReads reads, ChannelWriter<MsgPack> output, CancellationToken cancellationToken)
    {
        for (var i = 0; i < reads.Count; i++)
        {
            reads.Request(i);
        }
        while (true)
        {
            var (index, messages) = await reads.NextAsync().ConfigureAwait(false);
            reads.Request(index);
            if (messages.Count == 0)
            {
                continue;
            }
            // The next batch is being read (above) while this one is decoded.
            var channel = reads.Channels[index];
            var msgs = new List<TsMsg>(messages.Count);
            var skipped = new List<SkippedMsg>();
            var beginTs = ulong.MaxValue;
            var endTs = 0UL;
            foreach (var message in messages)
            {
                if (!TryDecode(channel, reads.Group, message, out var decoded, out var skip))
                {
                    skipped.Add(skip!);
                    continue;
                }
                var msg = decoded.Msg;
                beginTs = Math.Min(beginTs, msg.BeginTs);
                endTs = Math.Max(endTs, msg.EndTs);
                msgs.Add(msg);
            }
            // The pack spans the whole read, so that resuming after its end passes over what was skipped too.
            var pack = new MsgPack { BeginTs = msgs.Count == 0 ? 0 : beginTs, EndTs = endTs, Msgs = msgs, Skipped = skipped };
            pack.StartPositions.Add(msgs.Count > 0 && msgs[0].Position!.MsgId == messages[0].MsgId ? msgs[0].Position! : new MsgPosition(channel, messages[0].MsgId, reads.Group, 0));
            pack.EndPositions.Add(msgs.Count > 0 && msgs[^1].Position!.MsgId == messages[^1].MsgId ? msgs[^1].Position! : new MsgPosition(channel, messages[^1].MsgId, reads.Group, endTs));
            await output.WriteAsync(pack, cancellationToken).ConfigureAwait(false);
        }
    }
}
