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

    private protected override void WriteBody(MsgEnvelope envelope) => envelope.Payload = UnsafeByteOperations.UnsafeWrap(Payload);

    internal static PayloadMsg From(RawMsg raw) =>
        new PayloadMsg(raw.Type) { Payload = raw.Payload }.ReadHeader<PayloadMsg>(raw);
}

/// <summary>A message decoded as far as its header, for unmarshal templates.</summary>
public sealed class RawMsg
{
    internal RawMsg(MsgEnvelope envelope)
    {
        Envelope = envelope;
        Type = (MsgType)envelope.MsgType;
        Id = envelope.Id;
        BeginTs = envelope.BeginTs;
        EndTs = envelope.EndTs;
        HashKeys = envelope.HashKeys.Count == 0 ? [] : envelope.HashKeys.ToArray();
        TraceParent = envelope.TraceParent.Length == 0 ? null : envelope.TraceParent;
        Payload = envelope.BodyCase == MsgEnvelope.BodyOneofCase.Payload ? envelope.Payload.Memory : ReadOnlyMemory<byte>.Empty;
    }

    public MsgType Type { get; }

    public long Id { get; }

    public ulong BeginTs { get; }

    public ulong EndTs { get; }

    public IReadOnlyList<uint> HashKeys { get; }

    public string? TraceParent { get; }

    /// <summary>The opaque body of a payload message (empty for the typed messages).</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    internal MsgEnvelope Envelope { get; }
}
