using System.Collections.Concurrent;
using Google.Protobuf;
using Milvus.Domain.MsgStream.Wire;

namespace Milvus.Domain.MsgStream;

/// <summary>Turns a decoded header and body into a typed message.</summary>
public delegate TsMsg UnmarshalFunc(RawMsg raw);

/// <summary>
/// Reads messages from their wire form (message-stream seed, A.3). Each message type has a template; the
/// built-in types are registered, every other seed type reads as a <see cref="PayloadMsg"/>, and
/// <see cref="AddMsgTemplate"/> adds or replaces one. Garbage bytes, a future format version or a type with no
/// template give a <see cref="MsgUnmarshalException"/>, never a crash.
/// </summary>
public sealed class UnmarshalDispatcher
{
    /// <summary>
    /// Parses the header alone: the body is an unknown field to it, skipped without a copy. It parses into one
    /// cleared header per thread, since <see cref="RawMsg"/> copies what it needs at once.
    /// </summary>
    private static readonly MessageParser<MsgHeader> HeaderParser = new MessageParser<MsgHeader>(ScratchHeader).WithDiscardUnknownFields(true);

    [ThreadStatic]
    private static MsgHeader? t_header;

    private const string NotAMessage = "The bytes are not a stream message";

    private readonly ConcurrentDictionary<MsgType, UnmarshalFunc> _templates = new();

    /// <summary>A dispatcher with a template for every type of the seed's list.</summary>
    public UnmarshalDispatcher()
    {
        foreach (var type in Enum.GetValues<MsgType>().Where(t => t != MsgType.Undefined))
        {
            _templates[type] = PayloadMsg.From;
        }
        _templates[MsgType.Insert] = InsertMsg.From;
        _templates[MsgType.Delete] = DeleteMsg.From;
        _templates[MsgType.TimeTick] = TimeTickMsg.From;
        _templates[MsgType.Flush] = FlushMsg.From;
        _templates[MsgType.CreateCollection] = CreateCollectionMsg.From;
        _templates[MsgType.DropCollection] = DropCollectionMsg.From;
        _templates[MsgType.CreatePartition] = CreatePartitionMsg.From;
        _templates[MsgType.DropPartition] = DropPartitionMsg.From;
    }

    /// <summary>Adds or replaces the template of <paramref name="msgType"/>.</summary>
    public void AddMsgTemplate(MsgType msgType, UnmarshalFunc unmarshalFunc)
    {
        ArgumentNullException.ThrowIfNull(unmarshalFunc);
        _templates[msgType] = unmarshalFunc;
    }

    /// <summary>Reads a message, whatever its type, decoding it whole.</summary>
    public TsMsg Unmarshal(ReadOnlySpan<byte> input) => Dispatch(new RawMsg(ParseEnvelope(input, NotAMessage)), expected: null);

    /// <summary>Reads a message that must be of <paramref name="msgType"/>, decoding it whole.</summary>
    public TsMsg Unmarshal(ReadOnlySpan<byte> input, MsgType msgType) => Dispatch(new RawMsg(ParseEnvelope(input, NotAMessage)), msgType);

    /// <summary>
    /// Reads a message from bytes that stay unchanged for as long as the message lives (a consumed queue message).
    /// Only the header is decoded now; the rows of an Insert or Delete are decoded from <paramref name="input"/> when
    /// first read, so a consumer that routes or forwards messages never pays for their bodies. A body that turns out
    /// to be invalid then throws <see cref="MsgUnmarshalException"/> from the property that reads it.
    /// </summary>
    public TsMsg Unmarshal(ReadOnlyMemory<byte> input)
    {
        MsgHeader header;
        try
        {
            header = HeaderParser.ParseFrom(input.Span);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new MsgUnmarshalException($"{NotAMessage}: {ex.Message}", ex);
        }
        return Dispatch(new RawMsg(header, input), expected: null);
    }

    private static MsgHeader ScratchHeader()
    {
        var header = t_header ??= new MsgHeader();
        header.FormatVersion = 0;
        header.MsgType = 0;
        header.Id = 0;
        header.BeginTs = 0;
        header.EndTs = 0;
        header.HashKeys.Clear();
        header.TraceParent = "";
        header.OpaqueBody = false;
        return header;
    }

    /// <summary>Parses a whole envelope.</summary>
    /// <exception cref="MsgUnmarshalException">The bytes are not an envelope; the message starts with <paramref name="problem"/>.</exception>
    internal static MsgEnvelope ParseEnvelope(ReadOnlySpan<byte> input, string problem)
    {
        try
        {
            return MsgEnvelope.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new MsgUnmarshalException($"{problem}: {ex.Message}", ex);
        }
    }

    private TsMsg Dispatch(RawMsg raw, MsgType? expected)
    {
        if (raw.FormatVersion == 0 || raw.FormatVersion > MsgCodec.FormatVersion)
        {
            throw new MsgUnmarshalException($"The message has format version {raw.FormatVersion}; this reader knows versions 1 to {MsgCodec.FormatVersion}.");
        }
        if (expected is { } want && want != raw.Type)
        {
            throw new MsgUnmarshalException($"Expected a {want} message, but the bytes hold a {raw.Type} message.");
        }
        if (raw.OpaqueBody)
        {
            // A typed type sent as opaque bytes reads back as those bytes.
            return PayloadMsg.From(raw);
        }
        if (!_templates.TryGetValue(raw.Type, out var template))
        {
            throw new MsgUnmarshalException($"There is no unmarshal template for message type {(uint)raw.Type}.");
        }
        return template(raw);
    }
}

/// <summary>Constants of the wire format.</summary>
public static class MsgCodec
{
    /// <summary>The format version this code writes, and the newest it reads.</summary>
    public const uint FormatVersion = 1;
}

/// <summary>A message could not be read from its bytes.</summary>
public sealed class MsgUnmarshalException : Exception, IMilvusError
{
    public MsgUnmarshalException(string message) : base(message) { }

    public MsgUnmarshalException(string message, Exception inner) : base(message, inner) { }

    public ErrorKind Kind => ErrorKind.Invalid;

    internal static MsgUnmarshalException WrongBody(MsgType type) => new($"The {type} message has no {type} body.");
}
