using Milvus.Domain.FlowGraph;
using Milvus.Domain.MsgStream;
using Milvus.Domain.Telemetry;

namespace Milvus.Domain.Archive;

/// <summary>A time-ticked pack as a graph message; its tick is the pack's end.</summary>
internal sealed class PackMsg(MsgPack pack) : IMsg
{
    public MsgPack Pack { get; } = pack;

    public ulong TimeTick => Pack.EndTs;
}

/// <summary>A cut segment on its way to the writer: the msgs' wire forms and the range of the packs they came in.</summary>
internal sealed class SegmentDraft(IReadOnlyList<byte[]> msgs, ulong beginTs, ulong endTs, MsgPosition startPosition, MsgPosition endPosition) : IMsg
{
    public IReadOnlyList<byte[]> Msgs { get; } = msgs;

    public ulong BeginTs { get; } = beginTs;

    public ulong EndTs { get; } = endTs;

    /// <summary>Where the first pack after the previous cut started.</summary>
    public MsgPosition StartPosition { get; } = startPosition;

    /// <summary>Where the last pack of the segment ended: the next segment resumes here.</summary>
    public MsgPosition EndPosition { get; } = endPosition;

    public ulong TimeTick => EndTs;
}

/// <summary>
/// Gathers the msgs of whole packs and cuts a segment after a pack that holds a Flush msg, once the encoded msgs
/// reach <see cref="ArchiveOptions.MaxSegmentBytes"/>, or once the oldest buffered msg has waited
/// <see cref="ArchiveOptions.MaxSegmentMs"/> (checked as each pack arrives, i.e. at each time tick).
/// </summary>
public sealed class SegmentBufferNode(ArchiveOptions options, TimeProvider time, int maxQueueLength = BaseNode.DefaultMaxQueueLength) : BaseNode
{
    public const string NodeName = "buffer";

    private readonly List<byte[]> _msgs = [];
    private long _bytes;
    private long _firstBufferedAt;
    private ulong _beginTs;
    private MsgPosition? _start;

    public override string Name => NodeName;

    public override int MaxQueueLength => maxQueueLength;

    public override ValueTask<IReadOnlyList<IMsg?>> OperateAsync(IReadOnlyList<IMsg?> inputs, CancellationToken cancellationToken)
    {
        if (inputs[0] is not PackMsg { Pack: var pack })
        {
            return ValueTask.FromResult<IReadOnlyList<IMsg?>>([]);
        }
        if (_start is null && pack.StartPositions.Count > 0)
        {
            _start = pack.StartPositions[0];
            _beginTs = pack.BeginTs;
        }
        var flush = false;
        foreach (var msg in pack.Msgs)
        {
            if (_msgs.Count == 0)
            {
                _firstBufferedAt = time.GetTimestamp();
            }
            byte[] bytes;
            try
            {
                bytes = msg.Marshal();
            }
            catch (MsgUnmarshalException)
            {
                // A valid header over a body that does not decode (bodies are decoded on first read): passed over,
                // as the stream passes over a message it cannot read at all.
                MsgStreamTelemetry.Skipped(msg.Position?.ChannelName ?? "");
                continue;
            }
            _msgs.Add(bytes);
            _bytes += sizeof(int) + bytes.Length;
            flush |= msg.Type == MsgType.Flush;
        }
        if (_msgs.Count == 0 || pack.EndPositions.Count == 0)
        {
            return ValueTask.FromResult<IReadOnlyList<IMsg?>>([]);
        }
        var full = _bytes >= options.MaxSegmentBytes;
        var old = time.GetElapsedTime(_firstBufferedAt) >= TimeSpan.FromMilliseconds(options.MaxSegmentMs);
        if (!flush && !full && !old)
        {
            return ValueTask.FromResult<IReadOnlyList<IMsg?>>([]);
        }
        var draft = new SegmentDraft([.. _msgs], _beginTs, pack.EndTs, _start!, pack.EndPositions[0]);
        _msgs.Clear();
        _bytes = 0;
        _start = null;
        return ValueTask.FromResult<IReadOnlyList<IMsg?>>([draft]);
    }
}

/// <summary>
/// Writes each cut segment as one object, then records its metadata with the channel's new checkpoint in one
/// atomic meta step. The object key depends only on the channel, the segment id and the checkpoint the segment
/// starts from, so after a crash between the two steps the segment is written again over the same key.
/// </summary>
public sealed class SegmentWriterNode(string channel, SegmentCatalog catalog, ArchiveCheckpoint? checkpoint, int maxQueueLength = BaseNode.DefaultMaxQueueLength) : BaseNode
{
    public const string NodeName = "writer";

    private long _nextSegmentId = checkpoint?.NextSegmentId ?? 1;
    private MsgPosition? _resumeAt = checkpoint?.Position;
    private long _written;

    public override string Name => NodeName;

    public override int MaxQueueLength => maxQueueLength;

    /// <summary>Segments this node has recorded.</summary>
    public long SegmentsWritten => Interlocked.Read(ref _written);

    public override async ValueTask<IReadOnlyList<IMsg?>> OperateAsync(IReadOnlyList<IMsg?> inputs, CancellationToken cancellationToken)
    {
        if (inputs[0] is not SegmentDraft draft)
        {
            return [];
        }
        var start = _resumeAt ?? draft.StartPosition;
        var key = SegmentCatalog.ObjectKey(channel, _nextSegmentId, start);
        var encoded = SegmentCodec.Encode(draft.Msgs);
        await catalog.WriteObjectAsync(key, encoded, cancellationToken).ConfigureAwait(false);
        var segment = new SegmentInfo(_nextSegmentId, draft.BeginTs, draft.EndTs, draft.Msgs.Count, encoded.Length, key, start, draft.EndPosition);
        await catalog.CommitAsync(channel, segment, cancellationToken).ConfigureAwait(false);
        _nextSegmentId++;
        _resumeAt = draft.EndPosition;
        Interlocked.Increment(ref _written);
        return [draft];
    }
}
