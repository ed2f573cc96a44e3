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
            var msgs = new List<TsMsg>(messages.Count);
            foreach (var message in messages)
            {
                msgs.Add(Decode(reads.Channels[index], reads.Group, message).Msg);
            }
            var pack = MsgPack.Of(msgs);
            pack.StartPositions.Add(msgs[0].Position!);
            pack.EndPositions.Add(msgs[^1].Position!);
            await output.WriteAsync(pack, cancellationToken).ConfigureAwait(false);
        }
    }
}
