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

    /// <summary>Reads a message, whatever its type.</summary>
    public TsMsg Unmarshal(ReadOnlySpan<byte> input) => Unmarshal(input, expected: null);

    /// <summary>Reads a message that must be of <paramref name="msgType"/>.</summary>
    public TsMsg Unmarshal(ReadOnlySpan<byte> input, MsgType msgType) => Unmarshal(input, (MsgType?)msgType);

    private TsMsg Unmarshal(ReadOnlySpan<byte> input, MsgType? expected)
    {
        MsgEnvelope envelope;
        try
        {
            envelope = MsgEnvelope.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new MsgUnmarshalException($"The bytes are not a stream message: {ex.Message}", ex);
        }
        if (envelope.FormatVersion == 0 || envelope.FormatVersion > MsgCodec.FormatVersion)
        {
            throw new MsgUnmarshalException($"The message has format version {envelope.FormatVersion}; this reader knows versions 1 to {MsgCodec.FormatVersion}.");
        }
        var type = (MsgType)envelope.MsgType;
        if (expected is { } want && want != type)
        {
            throw new MsgUnmarshalException($"Expected a {want} message, but the bytes hold a {type} message.");
        }
        if (!_templates.TryGetValue(type, out var template))
        {
            throw new MsgUnmarshalException($"There is no unmarshal template for message type {envelope.MsgType}.");
        }
        return template(new RawMsg(envelope));
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
