using Google.Protobuf;
using Milvus.Domain.MsgStream.Wire;

namespace Milvus.Domain.MsgStream;

/// <summary>
/// A timestamped stream message (message-stream seed, A.3): an id, the time range it covers, its type, the hash
/// keys that route it, and — once read from a channel — its position. <see cref="Marshal"/> writes the compact,
/// versioned binary form; <see cref="UnmarshalDispatcher"/> reads it back.
/// </summary>
public abstract class TsMsg
{
    /// <summary>The message's unique id (a request id, not the queue's message id).</summary>
    public long Id { get; set; }

    /// <summary>The earliest timestamp the message covers.</summary>
    public ulong BeginTs { get; set; }

    /// <summary>The latest timestamp the message covers; a time-ticked stream releases it at the first tick ≥ this.</summary>
    public ulong EndTs { get; set; }

    /// <summary>The message's type.</summary>
    public abstract MsgType Type { get; }

    /// <summary>The keys that route the message to channels (<c>channels[key % n]</c>).</summary>
    public virtual IReadOnlyList<uint> HashKeys { get; set; } = [];

    /// <summary>Where the message was read from; null for a message not read from a channel.</summary>
    public MsgPosition? Position { get; set; }

    /// <summary>The W3C traceparent of the activity that produced the message, if any.</summary>
    public string? TraceParent { get; set; }

    /// <summary>Whether the message carries timestamps yet (a producer may leave them to the TSO).</summary>
    public bool HasTimestamps => EndTs != 0;

    /// <summary>The message in its wire form.</summary>
    public byte[] Marshal()
    {
        var envelope = new MsgEnvelope
        {
            FormatVersion = MsgCodec.FormatVersion,
            MsgType = (uint)Type,
            Id = Id,
            BeginTs = BeginTs,
            EndTs = EndTs,
            TraceParent = TraceParent ?? "",
        };
        envelope.HashKeys.AddRange(HashKeys);
        WriteBody(envelope);
        return envelope.ToByteArray();
    }

    /// <summary>
    /// Fills the type-specific body of the envelope. Byte fields wrap the message's memory without a copy
    /// (<see cref="UnsafeByteOperations.UnsafeWrap"/>): the envelope lives only until <see cref="Marshal"/> has
    /// written it out.
    /// </summary>
    private protected abstract void WriteBody(MsgEnvelope envelope);

    /// <summary>Copies the common header fields from an envelope.</summary>
    private protected T ReadHeader<T>(RawMsg raw)
        where T : TsMsg
    {
        Id = raw.Id;
        BeginTs = raw.BeginTs;
        EndTs = raw.EndTs;
        TraceParent = raw.TraceParent;
        HashKeys = raw.HashKeys;
        return (T)this;
    }
}

/// <summary>A message whose body is opaque bytes: the type for every message without a schema of its own.</summary>
public sealed class PayloadMsg(MsgType type) : TsMsg
{
    public override MsgType Type { get; } = type;

    /// <summary>The message's body.</summary>
    public ReadOnlyMemory<byte> Payload { get; set; }

    private protected override void WriteBody(MsgEnvelope envelope)
    {
        envelope.Payload = UnsafeByteOperations.UnsafeWrap(Payload);
        // Marked only where it matters, so a payload msg of any other type keeps its bytes and its custom template.
        envelope.OpaqueBody = MsgBodies.HasTypedBody(Type);
    }

    internal static PayloadMsg From(RawMsg raw) =>
        new PayloadMsg(raw.Type) { Payload = raw.Payload }.ReadHeader<PayloadMsg>(raw);
}

/// <summary>
/// A message decoded as far as its header, for unmarshal templates. Read from retained bytes
/// (<see cref="UnmarshalDispatcher.Unmarshal(ReadOnlyMemory{byte})"/>), its body stays undecoded on those bytes until
/// a template asks for it; read from a span, the whole envelope is decoded at once.
/// </summary>
public sealed class RawMsg
{
    private readonly ReadOnlyMemory<byte> _wire;
    private MsgEnvelope? _envelope;

    internal RawMsg(MsgEnvelope envelope)
        : this(envelope.FormatVersion, envelope.MsgType, envelope.Id, envelope.BeginTs, envelope.EndTs, envelope.HashKeys, envelope.TraceParent, envelope.OpaqueBody) =>
        _envelope = envelope;

    internal RawMsg(MsgHeader header, ReadOnlyMemory<byte> wire)
        : this(header.FormatVersion, header.MsgType, header.Id, header.BeginTs, header.EndTs, header.HashKeys, header.TraceParent, header.OpaqueBody) =>
        _wire = wire;

    private RawMsg(uint formatVersion, uint msgType, long id, ulong beginTs, ulong endTs, IReadOnlyList<uint> hashKeys, string traceParent, bool opaqueBody)
    {
        OpaqueBody = opaqueBody;
        FormatVersion = formatVersion;
        Type = (MsgType)msgType;
        Id = id;
        BeginTs = beginTs;
        EndTs = endTs;
        HashKeys = hashKeys.Count == 0 ? [] : [.. hashKeys];
        TraceParent = traceParent.Length == 0 ? null : traceParent;
    }

    public MsgType Type { get; }

    public long Id { get; }

    public ulong BeginTs { get; }

    public ulong EndTs { get; }

    public IReadOnlyList<uint> HashKeys { get; }

    public string? TraceParent { get; }

    /// <summary>The opaque body of a payload message (empty for the typed messages).</summary>
    public ReadOnlyMemory<byte> Payload => Envelope.BodyCase == MsgEnvelope.BodyOneofCase.Payload ? Envelope.Payload.Memory : ReadOnlyMemory<byte>.Empty;

    internal uint FormatVersion { get; }

    /// <summary>Whether the body is an opaque payload although the type has a typed body.</summary>
    internal bool OpaqueBody { get; }

    /// <summary>Whether the whole envelope is decoded already.</summary>
    internal bool IsDecoded => _envelope is not null;

    /// <summary>The whole envelope, decoded from the retained bytes on first use (a race decodes twice, harmlessly).</summary>
    /// <exception cref="MsgUnmarshalException">The body is not valid.</exception>
    internal MsgEnvelope Envelope => _envelope ??= UnmarshalDispatcher.ParseEnvelope(_wire.Span, $"The body of {Type} message {Id} is not valid");
}
