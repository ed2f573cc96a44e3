using System.Text.Json;
using System.Text.Json.Serialization;
using FluentValidation;
using Milvus.Domain.MsgStream;

namespace Milvus.Api.Endpoints;

/// <summary>
/// One msg: a type of the design's MsgType list (its name, or its number on input), its id (assigned when missing),
/// timestamps (from the TSO when endTs is missing) and routing keys, and one body: a typed body as JSON
/// (<c>insert</c>, <c>delete</c>, <c>timeTick</c>, <c>flush</c>, <c>collection</c> or <c>partition</c>, matching msgType),
/// or <c>payload</c>, opaque bytes in base64 for any msgType. A msg with neither has the typed body of its type with
/// every field at zero (so <c>{"msgType":"TimeTick","endTs":300}</c> is a tick), or an empty payload for a type without
/// one; an Insert or Delete needs one or the other. An Insert or
/// Delete with a typed body is routed row by row by each row's hashKey, and its hashKeys are its rows' keys; any other
/// msg goes whole to <c>channels[hashKeys[0] % n]</c>. A consume answers each msg in the form it was produced in.
/// </summary>
public sealed record StreamMsg(
    [property: JsonConverter(typeof(MsgTypeNameConverter))] string? MsgType,
    long? Id = null,
    ulong? BeginTs = null,
    ulong? EndTs = null,
    List<uint>? HashKeys = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] byte[]? Payload = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] InsertMsgBody? Insert = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DeleteMsgBody? Delete = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TimeTickMsgBody? TimeTick = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] FlushMsgBody? Flush = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CollectionMsgBody? Collection = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PartitionMsgBody? Partition = null);

/// <summary>The body of an Insert: rows of one collection's partition, each with its own routing key. A missing (or null) field reads as its zero value, as in the wire format.</summary>
public sealed record InsertMsgBody(string? CollectionName = null, string? PartitionName = null, long? SegmentId = null, List<InsertMsgRow?>? Rows = null);

/// <summary>One inserted row: its id, timestamp, routing key and data (base64).</summary>
public sealed record InsertMsgRow(long? RowId = null, ulong? Timestamp = null, uint? HashKey = null, byte[]? Data = null);

/// <summary>The body of a Delete: primary keys of one collection's partition, each with its own routing key.</summary>
public sealed record DeleteMsgBody(string? CollectionName = null, string? PartitionName = null, List<DeleteMsgRow?>? Rows = null);

/// <summary>One deleted row: its primary key (base64), timestamp and routing key.</summary>
public sealed record DeleteMsgRow(byte[]? PrimaryKey = null, ulong? Timestamp = null, uint? HashKey = null);

/// <summary>The body of a TimeTick: the node that produced it.</summary>
public sealed record TimeTickMsgBody(long? SourceId = null);

/// <summary>The body of a Flush: the collection and the segments to seal.</summary>
public sealed record FlushMsgBody(string? CollectionName = null, List<long>? SegmentIds = null);

/// <summary>The body of CreateCollection and DropCollection: the collection, and its encoded schema (base64) for a create.</summary>
public sealed record CollectionMsgBody(string? CollectionName = null, long? CollectionId = null, byte[]? Schema = null);

/// <summary>The body of CreatePartition and DropPartition.</summary>
public sealed record PartitionMsgBody(string? CollectionName = null, string? PartitionName = null, long? CollectionId = null, long? PartitionId = null);

/// <summary>
/// Turns JSON msgs into stream messages and back, with no protobuf pass of its own: a produced msg is built as the
/// domain message the producer marshals once, and a consumed one is read from the message the stream decoded.
/// </summary>
public static class StreamMsgs
{
    /// <summary>The stream message for <paramref name="msg"/> (already validated), with id <paramref name="id"/>.</summary>
    public static TsMsg ToMsg(StreamMsg msg, long id)
    {
        ArgumentNullException.ThrowIfNull(msg);
        var type = Enum.Parse<MsgType>(msg.MsgType!);
        TsMsg result = msg switch
        {
            { Insert: { } insert } => new InsertMsg
            {
                CollectionName = insert.CollectionName ?? "",
                PartitionName = insert.PartitionName ?? "",
                SegmentId = insert.SegmentId ?? 0,
                Rows = [.. insert.Rows!.Select(r => new InsertRowData(r!.RowId ?? 0, r.Timestamp ?? 0, r.HashKey ?? 0, r.Data ?? []))],
            },
            { Delete: { } delete } => new DeleteMsg
            {
                CollectionName = delete.CollectionName ?? "",
                PartitionName = delete.PartitionName ?? "",
                Rows = [.. delete.Rows!.Select(r => new DeleteRowData(r!.PrimaryKey ?? [], r.Timestamp ?? 0, r.HashKey ?? 0))],
            },
            { TimeTick: { } tick } => new TimeTickMsg { SourceId = tick.SourceId ?? 0 },
            { Flush: { } flush } => new FlushMsg { CollectionName = flush.CollectionName ?? "", SegmentIds = flush.SegmentIds ?? [] },
            { Collection: { } collection } => Fill(type == MsgType.CreateCollection ? new CreateCollectionMsg() : new DropCollectionMsg(), collection),
            { Partition: { } partition } => Fill(type == MsgType.CreatePartition ? new CreatePartitionMsg() : new DropPartitionMsg(), partition),
            { Payload: { } payload } => new PayloadMsg(type) { Payload = payload },
            // Neither: a typed type gets its body with every field at its zero value (a bare TimeTick is a tick).
            _ => type switch
            {
                MsgType.TimeTick => new TimeTickMsg(),
                MsgType.Flush => new FlushMsg(),
                MsgType.CreateCollection => new CreateCollectionMsg(),
                MsgType.DropCollection => new DropCollectionMsg(),
                MsgType.CreatePartition => new CreatePartitionMsg(),
                MsgType.DropPartition => new DropPartitionMsg(),
                _ => new PayloadMsg(type),
            },
        };
        result.Id = id;
        result.EndTs = msg.EndTs ?? 0;
        result.BeginTs = msg.BeginTs ?? result.EndTs;
        if (result is not ISplittableMsg)
        {
            result.HashKeys = msg.HashKeys ?? [];
        }
        return result;
    }

    /// <summary>The JSON form of <paramref name="msg"/>: its typed body, or its payload.</summary>
    /// <exception cref="MsgUnmarshalException">The msg's body, decoded only now, is not valid.</exception>
    public static StreamMsg ToJson(TsMsg msg)
    {
        ArgumentNullException.ThrowIfNull(msg);
        var json = new StreamMsg(msg.Type.ToString(), msg.Id, msg.BeginTs, msg.EndTs, [.. msg.HashKeys]);
        return msg switch
        {
            PayloadMsg payload => json with { Payload = payload.Payload.ToArray() },
            InsertMsg insert => json with
            {
                Insert = new InsertMsgBody(insert.CollectionName, insert.PartitionName, insert.SegmentId,
                    [.. insert.Rows.Select(r => new InsertMsgRow(r.RowId, r.Timestamp, r.HashKey, r.Data.ToArray()))]),
            },
            DeleteMsg delete => json with
            {
                Delete = new DeleteMsgBody(delete.CollectionName, delete.PartitionName,
                    [.. delete.Rows.Select(r => new DeleteMsgRow(r.PrimaryKey.ToArray(), r.Timestamp, r.HashKey))]),
            },
            TimeTickMsg tick => json with { TimeTick = new TimeTickMsgBody(tick.SourceId) },
            FlushMsg flush => json with { Flush = new FlushMsgBody(flush.CollectionName, flush.SegmentIds) },
            CollectionDdlMsg collection => json with { Collection = new CollectionMsgBody(collection.CollectionName, collection.CollectionId, collection.Schema.ToArray()) },
            PartitionDdlMsg partition => json with
            {
                Partition = new PartitionMsgBody(partition.CollectionName, partition.PartitionName, partition.CollectionId, partition.PartitionId),
            },
            // A type read by a custom template: its whole wire form.
            _ => json with { Payload = msg.Marshal() },
        };
    }

    /// <summary>How many bytes of user data the msg carries (its payload, or its rows' data and keys, or its schema).</summary>
    public static long BodyBytes(StreamMsg msg)
    {
        ArgumentNullException.ThrowIfNull(msg);
        return (msg.Payload?.LongLength ?? 0)
            + (msg.Insert?.Rows?.Sum(r => (long)(r?.Data?.Length ?? 0)) ?? 0)
            + (msg.Delete?.Rows?.Sum(r => (long)(r?.PrimaryKey?.Length ?? 0)) ?? 0)
            + (msg.Collection?.Schema?.LongLength ?? 0);
    }

    /// <summary>The JSON name of the body <paramref name="msg"/> carries, or null for none; a list when it carries several.</summary>
    internal static IReadOnlyList<string> BodiesOf(StreamMsg msg)
    {
        var bodies = new List<string>(1);
        Add(bodies, msg.Payload, "payload");
        Add(bodies, msg.Insert, "insert");
        Add(bodies, msg.Delete, "delete");
        Add(bodies, msg.TimeTick, "timeTick");
        Add(bodies, msg.Flush, "flush");
        Add(bodies, msg.Collection, "collection");
        Add(bodies, msg.Partition, "partition");
        return bodies;
    }

    /// <summary>The typed body that a msg of <paramref name="type"/> carries, or null for a payload-only type.</summary>
    internal static string? TypedBodyOf(MsgType type) => type switch
    {
        Domain.MsgStream.MsgType.Insert => "insert",
        Domain.MsgStream.MsgType.Delete => "delete",
        Domain.MsgStream.MsgType.TimeTick => "timeTick",
        Domain.MsgStream.MsgType.Flush => "flush",
        Domain.MsgStream.MsgType.CreateCollection or Domain.MsgStream.MsgType.DropCollection => "collection",
        Domain.MsgStream.MsgType.CreatePartition or Domain.MsgStream.MsgType.DropPartition => "partition",
        _ => null,
    };

    private static void Add(List<string> bodies, object? body, string name)
    {
        if (body is not null)
        {
            bodies.Add(name);
        }
    }

    private static TsMsg Fill(CollectionDdlMsg msg, CollectionMsgBody body)
    {
        msg.CollectionName = body.CollectionName ?? "";
        msg.CollectionId = body.CollectionId ?? 0;
        msg.Schema = body.Schema ?? [];
        return msg;
    }

    private static TsMsg Fill(PartitionDdlMsg msg, PartitionMsgBody body)
    {
        msg.CollectionName = body.CollectionName ?? "";
        msg.PartitionName = body.PartitionName ?? "";
        msg.CollectionId = body.CollectionId ?? 0;
        msg.PartitionId = body.PartitionId ?? 0;
        return msg;
    }
}

/// <summary>
/// Checks one msg of a produce or broadcast: a sendable msgType, at most one body and the one its type takes,
/// rows in an Insert or Delete, hashKeys that agree with those rows, and timestamps in order.
/// </summary>
public sealed class StreamMsgValidator : AbstractValidator<StreamMsg>
{
    public StreamMsgValidator()
    {
        RuleFor(m => m.MsgType).Must(StreamRules.IsMsgType)
            .WithMessage((_, t) => $"'{t}' is not a msgType: use a name or number of the MsgType list, such as Insert (400), Delete (401), TimeTick (1200) or CreateCollection (100).");
        RuleFor(m => m.BeginTs).Must((m, begin) => begin is null || m.EndTs is { } end && begin <= end)
            .WithMessage("beginTs needs an endTs at or above it.");
        RuleFor(m => m).Custom((m, context) =>
        {
            var bodies = StreamMsgs.BodiesOf(m);
            if (bodies.Count > 1)
            {
                context.AddFailure(bodies[1], $"A msg carries one body, a typed body or a payload, never both; this one has {string.Join(" and ", bodies)}.");
                return;
            }
            if (bodies.Count == 0 && m.MsgType is "Insert" or "Delete")
            {
                context.AddFailure(m.MsgType == "Insert" ? "insert" : "delete",
                    $"A {m.MsgType} msg needs its rows in {(m.MsgType == "Insert" ? "insert" : "delete")}.rows, or its bytes as an opaque payload.");
                return;
            }
            if (bodies.Count == 1 && bodies[0] != "payload" && StreamRules.IsMsgType(m.MsgType))
            {
                var wanted = StreamMsgs.TypedBodyOf(Enum.Parse<MsgType>(m.MsgType!));
                if (wanted != bodies[0])
                {
                    context.AddFailure(bodies[0], wanted is null
                        ? $"A {m.MsgType} msg has no typed body: send its bytes as payload."
                        : $"A {m.MsgType} msg takes the typed body '{wanted}' (or a payload), not '{bodies[0]}'.");
                }
            }
        });
        RuleFor(m => m.Insert!.Rows).Must(r => r is { Count: > 0 }).When(m => m.Insert is not null)
            .WithMessage("insert.rows must hold at least one row.");
        RuleForEach(m => m.Insert!.Rows).NotNull().When(m => m.Insert?.Rows is not null).WithMessage("A row must be an object.");
        RuleFor(m => m.Delete!.Rows).Must(r => r is { Count: > 0 }).When(m => m.Delete is not null)
            .WithMessage("delete.rows must hold at least one row.");
        RuleForEach(m => m.Delete!.Rows).NotNull().When(m => m.Delete?.Rows is not null).WithMessage("A row must be an object.");
        RuleFor(m => m.HashKeys).Must((m, keys) => keys is null || keys.Count == 0 || RowKeys(m) is not { } rows || rows.SequenceEqual(keys))
            .WithMessage((m, keys) => $"hashKeys [{string.Join(", ", keys!)}] disagree with the rows' hashKey values [{string.Join(", ", RowKeys(m)!)}]: " +
                "an Insert or Delete is routed by each row's hashKey, so leave hashKeys out or give the rows' keys in order.");
    }

    /// <summary>The hash keys of a JSON Insert's or Delete's rows, or null for any other msg.</summary>
    private static IEnumerable<uint>? RowKeys(StreamMsg msg) =>
        msg.Insert?.Rows?.Select(r => r?.HashKey ?? 0) ?? msg.Delete?.Rows?.Select(r => r?.HashKey ?? 0);
}

/// <summary>
/// Reads a msgType given as a name or, as API.md allows for enums, as the MsgType number (<c>400</c> is <c>Insert</c>);
/// a number that names no type stays its digits, which the validator refuses. Writes the name.
/// </summary>
public sealed class MsgTypeNameConverter : JsonConverter<string?>
{
    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return reader.TryGetInt32(out var number) && Enum.IsDefined((MsgType)number)
                ? ((MsgType)number).ToString()
                : reader.GetDouble().ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return reader.TokenType == JsonTokenType.String
            ? reader.GetString()
            : throw new JsonException("msgType must be a MsgType name or number.");
    }

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}
