using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Mq;

namespace Milvus.Domain.MsgStream.Streams;

/// <summary>
/// The plain stream: each batch read from a channel becomes one pack, as soon as it is read, with no ordering
/// between channels. The pack's start and end positions are its first and last message's.
/// </summary>
public sealed class MqMsgStream : MsgStreamBase
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
            var msgs = new List<TsMsg>(messages.Count);
            var beginTs = ulong.MaxValue;
            var endTs = 0UL;
            foreach (var message in messages)
            {
                var msg = Decode(reads.Channels[index], reads.Group, message).Msg;
                beginTs = Math.Min(beginTs, msg.BeginTs);
                endTs = Math.Max(endTs, msg.EndTs);
                msgs.Add(msg);
            }
            var pack = new MsgPack { BeginTs = beginTs, EndTs = endTs, Msgs = msgs };
            pack.StartPositions.Add(msgs[0].Position!);
            pack.EndPositions.Add(msgs[^1].Position!);
            await output.WriteAsync(pack, cancellationToken).ConfigureAwait(false);
        }
    }
}
