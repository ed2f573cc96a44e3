namespace Milvus.Domain.MsgStream;

/// <summary>
/// Where a message sits in a channel: the channel, the queue's message id, the consumer group that read it,
/// and the message's timestamp (for a time-ticked stream, the tick it was released at).
/// </summary>
public sealed record MsgPosition(string ChannelName, long MsgId, string MsgGroup, ulong Timestamp);

/// <summary>A queue message that a stream passed over, and why.</summary>
public sealed record SkippedMsg(string ChannelName, long MsgId, string Reason);

/// <summary>
/// A batch of messages. For a time-ticked stream it holds exactly the messages with
/// <c>BeginTs &lt; EndTs(msg) ≤ EndTs</c>, with where each channel's reading started and ended.
/// </summary>
public sealed class MsgPack
{
    public ulong BeginTs { get; set; }

    public ulong EndTs { get; set; }

    public List<TsMsg> Msgs { get; init; } = [];

    public List<MsgPosition> StartPositions { get; init; } = [];

    public List<MsgPosition> EndPositions { get; init; } = [];

    /// <summary>
    /// The queue messages the stream passed over while reading this pack's range: not stream messages, or messages it
    /// cannot decode. A stream never stops for one; it reports it once, here.
    /// </summary>
    public List<SkippedMsg> Skipped { get; init; } = [];

    /// <summary>A pack of the given messages, with the time range they span.</summary>
    public static MsgPack Of(IEnumerable<TsMsg> msgs)
    {
        var list = msgs.ToList();
        return new MsgPack
        {
            Msgs = list,
            BeginTs = list.Count == 0 ? 0 : list.Min(m => m.BeginTs),
            EndTs = list.Count == 0 ? 0 : list.Max(m => m.EndTs),
        };
    }
}
