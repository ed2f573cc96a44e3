using Google.Protobuf;
using Milvus.Domain.MsgStream.Wire;

namespace Milvus.Domain.MsgStream;

/// <summary>A row that carries its own routing key.</summary>
public interface IRoutedRow
{
    /// <summary>The key that routes the row to a channel.</summary>
    uint HashKey { get; }
}

/// <summary>A message whose rows a repack may send to different channels.</summary>
public interface ISplittableMsg
{
    /// <summary>How many rows the message holds.</summary>
    int RowCount { get; }

    /// <summary>A copy of the message with only the rows at <paramref name="indices"/>, in that order.</summary>
    TsMsg WithRowsAt(IReadOnlyList<int> indices);
}

/// <summary>
/// A manipulation message made of rows, each with its own hash key (Insert and Delete). Read from a queue, its body
/// (names and rows) is decoded on first access, so a stream that only routes or packs messages never decodes it.
/// </summary>
public abstract class RowsMsg<TRow> : TsMsg, ISplittableMsg
    where TRow : IRoutedRow
{
    private string _collectionName = "";
    private string _partitionName = "";
    private List<TRow>? _rows;

    /// <summary>The undecoded body, until the first access decodes it (under a lock on this object).</summary>
    private RawMsg? _undecoded;

    public string CollectionName
    {
        get { DecodeBody(); return _collectionName; }
        set { DecodeBody(); _collectionName = value; }
    }

    public string PartitionName
    {
        get { DecodeBody(); return _partitionName; }
        set { DecodeBody(); _partitionName = value; }
    }

    public List<TRow> Rows
    {
        get { DecodeBody(); return _rows ??= []; }
        set { DecodeBody(); _rows = value; }
    }

    /// <summary>The rows' hash keys, in row order; setting it has no effect.</summary>
    public override IReadOnlyList<uint> HashKeys
    {
        get => Rows.Select(r => r.HashKey).ToArray();
        set { /* Derived from the rows. */ }
    }

    public int RowCount => Rows.Count;

    public TsMsg WithRowsAt(IReadOnlyList<int> indices) => WithRows(indices.Select(i => Rows[i]).ToList());

    /// <summary>A copy of this message with only <paramref name="rows"/>.</summary>
    public RowsMsg<TRow> WithRows(List<TRow> rows)
    {
        var copy = CreateEmpty();
        copy.Id = Id;
        copy.BeginTs = BeginTs;
        copy.EndTs = EndTs;
        copy.TraceParent = TraceParent;
        copy.CollectionName = CollectionName;
        copy.PartitionName = PartitionName;
        copy.Rows = rows;
        CopyExtrasTo(copy);
        return copy;
    }

    /// <summary>The decoded rows of a body, in order, in a list of the right size (no LINQ on the decode path).</summary>
    private protected static List<TRow> ReadRows<TWire>(IReadOnlyList<TWire> rows, Func<TWire, TRow> read)
    {
        var result = new List<TRow>(rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            result.Add(read(rows[i]));
        }
        return result;
    }

    /// <summary>Reads the body from <paramref name="raw"/> now if it is decoded already, else on first access.</summary>
    private protected TMsg ReadOrDefer<TMsg>(RawMsg raw)
        where TMsg : RowsMsg<TRow>
    {
        if (raw.IsDecoded)
        {
            ReadBody(raw);
        }
        else
        {
            _undecoded = raw;
        }
        return ReadHeader<TMsg>(raw);
    }

    /// <summary>Sets the common body fields without decoding (for <see cref="ReadBody"/>).</summary>
    private protected void SetBody(string collectionName, string partitionName, List<TRow> rows)
    {
        _collectionName = collectionName;
        _partitionName = partitionName;
        _rows = rows;
    }

    /// <summary>Decodes the deferred body, once; every body property calls it first.</summary>
    /// <exception cref="MsgUnmarshalException">The body is not valid.</exception>
    private protected void DecodeBody()
    {
        var raw = Volatile.Read(ref _undecoded);
        if (raw is null)
        {
            return;
        }
        lock (raw)
        {
            if (_undecoded is not null)
            {
                ReadBody(raw);
                Volatile.Write(ref _undecoded, null);
            }
        }
    }

    /// <summary>Fills the body's fields (through <see cref="SetBody"/> and the subclass's own fields) from the envelope.</summary>
    private protected abstract void ReadBody(RawMsg raw);

    /// <summary>A new, empty message of the same type.</summary>
    private protected abstract RowsMsg<TRow> CreateEmpty();

    /// <summary>Copies the fields a subclass adds.</summary>
    private protected virtual void CopyExtrasTo(RowsMsg<TRow> copy)
    {
    }
}

/// <summary>One inserted row: its id, timestamp, routing key and encoded data.</summary>
public sealed record InsertRowData(long RowId, ulong Timestamp, uint HashKey, ReadOnlyMemory<byte> Data) : IRoutedRow;

/// <summary>Inserts rows into a collection. Each row has its own hash key, so a repack may split the message.</summary>
public sealed class InsertMsg : RowsMsg<InsertRowData>
{
    public override MsgType Type => MsgType.Insert;

    private long _segmentId;

    public long SegmentId
    {
        get { DecodeBody(); return _segmentId; }
        set { DecodeBody(); _segmentId = value; }
    }

    private protected override RowsMsg<InsertRowData> CreateEmpty() => new InsertMsg();

    private protected override void CopyExtrasTo(RowsMsg<InsertRowData> copy) => ((InsertMsg)copy).SegmentId = SegmentId;

    private protected override void WriteBody(MsgEnvelope envelope)
    {
        envelope.HashKeys.Clear();
        var body = new InsertBody { CollectionName = CollectionName, PartitionName = PartitionName, SegmentId = SegmentId };
        foreach (var r in Rows)
        {
            body.Rows.Add(new InsertRow { RowId = r.RowId, Timestamp = r.Timestamp, HashKey = r.HashKey, Data = UnsafeByteOperations.UnsafeWrap(r.Data) });
        }
        envelope.Insert = body;
    }

    internal static InsertMsg From(RawMsg raw) => new InsertMsg().ReadOrDefer<InsertMsg>(raw);

    private protected override void ReadBody(RawMsg raw)
    {
        var body = raw.Envelope.Insert ?? throw MsgUnmarshalException.WrongBody(raw.Type);
        _segmentId = body.SegmentId;
        SetBody(body.CollectionName, body.PartitionName, ReadRows(body.Rows, static r => new InsertRowData(r.RowId, r.Timestamp, r.HashKey, r.Data.Memory)));
    }
}

/// <summary>One deleted row: its primary key, timestamp and routing key.</summary>
public sealed record DeleteRowData(ReadOnlyMemory<byte> PrimaryKey, ulong Timestamp, uint HashKey) : IRoutedRow;

/// <summary>Deletes rows by primary key. It is routed, and split, by each row's key.</summary>
public sealed class DeleteMsg : RowsMsg<DeleteRowData>
{
    public override MsgType Type => MsgType.Delete;

    private protected override RowsMsg<DeleteRowData> CreateEmpty() => new DeleteMsg();

    private protected override void WriteBody(MsgEnvelope envelope)
    {
        envelope.HashKeys.Clear();
        var body = new DeleteBody { CollectionName = CollectionName, PartitionName = PartitionName };
        foreach (var r in Rows)
        {
            body.Rows.Add(new DeleteRow { PrimaryKey = UnsafeByteOperations.UnsafeWrap(r.PrimaryKey), Timestamp = r.Timestamp, HashKey = r.HashKey });
        }
        envelope.Delete = body;
    }

    internal static DeleteMsg From(RawMsg raw) => new DeleteMsg().ReadOrDefer<DeleteMsg>(raw);

    private protected override void ReadBody(RawMsg raw)
    {
        var body = raw.Envelope.Delete ?? throw MsgUnmarshalException.WrongBody(raw.Type);
        SetBody(body.CollectionName, body.PartitionName, ReadRows(body.Rows, static r => new DeleteRowData(r.PrimaryKey.Memory, r.Timestamp, r.HashKey)));
    }
}

/// <summary>A time tick: its producer promises that nothing it sends later has a timestamp ≤ the tick.</summary>
public sealed class TimeTickMsg : TsMsg
{
    public override MsgType Type => MsgType.TimeTick;

    /// <summary>The node that produced the tick.</summary>
    public long SourceId { get; set; }

    /// <summary>A tick at <paramref name="timestamp"/> (both BeginTs and EndTs).</summary>
    public static TimeTickMsg At(ulong timestamp, long sourceId = 0) => new() { BeginTs = timestamp, EndTs = timestamp, SourceId = sourceId };

    private protected override void WriteBody(MsgEnvelope envelope) => envelope.TimeTick = new TimeTickBody { SourceId = SourceId };

    internal static TimeTickMsg From(RawMsg raw) =>
        new TimeTickMsg { SourceId = (raw.Envelope.TimeTick ?? throw MsgUnmarshalException.WrongBody(raw.Type)).SourceId }.ReadHeader<TimeTickMsg>(raw);
}

/// <summary>Asks the consumers of a collection to seal and persist its segments.</summary>
public sealed class FlushMsg : TsMsg
{
    public override MsgType Type => MsgType.Flush;

    public string CollectionName { get; set; } = "";

    public List<long> SegmentIds { get; set; } = [];

    private protected override void WriteBody(MsgEnvelope envelope)
    {
        var body = new FlushBody { CollectionName = CollectionName };
        body.SegmentIds.AddRange(SegmentIds);
        envelope.Flush = body;
    }

    internal static FlushMsg From(RawMsg raw)
    {
        var body = raw.Envelope.Flush ?? throw MsgUnmarshalException.WrongBody(raw.Type);
        return new FlushMsg { CollectionName = body.CollectionName, SegmentIds = [.. body.SegmentIds] }.ReadHeader<FlushMsg>(raw);
    }
}

/// <summary>A definition request on a whole collection.</summary>
public abstract class CollectionDdlMsg : TsMsg
{
    public string CollectionName { get; set; } = "";

    public long CollectionId { get; set; }

    /// <summary>The collection's encoded schema (for a create).</summary>
    public ReadOnlyMemory<byte> Schema { get; set; }

    private protected override void WriteBody(MsgEnvelope envelope) =>
        envelope.Collection = new CollectionBody { CollectionName = CollectionName, CollectionId = CollectionId, Schema = UnsafeByteOperations.UnsafeWrap(Schema) };

    private protected T Fill<T>(RawMsg raw)
        where T : CollectionDdlMsg
    {
        var body = raw.Envelope.Collection ?? throw MsgUnmarshalException.WrongBody(raw.Type);
        CollectionName = body.CollectionName;
        CollectionId = body.CollectionId;
        Schema = body.Schema.Memory;
        return ReadHeader<T>(raw);
    }
}

public sealed class CreateCollectionMsg : CollectionDdlMsg
{
    public override MsgType Type => MsgType.CreateCollection;

    internal static CreateCollectionMsg From(RawMsg raw) => new CreateCollectionMsg().Fill<CreateCollectionMsg>(raw);
}

public sealed class DropCollectionMsg : CollectionDdlMsg
{
    public override MsgType Type => MsgType.DropCollection;

    internal static DropCollectionMsg From(RawMsg raw) => new DropCollectionMsg().Fill<DropCollectionMsg>(raw);
}

/// <summary>A definition request on one partition.</summary>
public abstract class PartitionDdlMsg : TsMsg
{
    public string CollectionName { get; set; } = "";

    public string PartitionName { get; set; } = "";

    public long CollectionId { get; set; }

    public long PartitionId { get; set; }

    private protected override void WriteBody(MsgEnvelope envelope) => envelope.Partition = new PartitionBody
    {
        CollectionName = CollectionName,
        PartitionName = PartitionName,
        CollectionId = CollectionId,
        PartitionId = PartitionId,
    };

    private protected T Fill<T>(RawMsg raw)
        where T : PartitionDdlMsg
    {
        var body = raw.Envelope.Partition ?? throw MsgUnmarshalException.WrongBody(raw.Type);
        CollectionName = body.CollectionName;
        PartitionName = body.PartitionName;
        CollectionId = body.CollectionId;
        PartitionId = body.PartitionId;
        return ReadHeader<T>(raw);
    }
}

public sealed class CreatePartitionMsg : PartitionDdlMsg
{
    public override MsgType Type => MsgType.CreatePartition;

    internal static CreatePartitionMsg From(RawMsg raw) => new CreatePartitionMsg().Fill<CreatePartitionMsg>(raw);
}

public sealed class DropPartitionMsg : PartitionDdlMsg
{
    public override MsgType Type => MsgType.DropPartition;

    internal static DropPartitionMsg From(RawMsg raw) => new DropPartitionMsg().Fill<DropPartitionMsg>(raw);
}
