using Google.Protobuf;
using Google.Protobuf.Reflection;
using Milvus.Domain.MsgStream.Wire;

namespace Milvus.Domain.MsgStream;

/// <summary>
/// A message as a header plus one opaque body, the shape the HTTP API carries: the body of a typed message (Insert,
/// Delete, TimeTick, Flush, the DDL messages) is its wire-format body, and the body of any other type is its
/// payload. <see cref="Compose"/> and <see cref="BodyOf"/> are inverses, so a message read back over HTTP can be
/// produced again unchanged.
/// </summary>
public static class MsgBodies
{
    /// <summary>For each type with a typed body, the envelope field that holds it.</summary>
    private static readonly Dictionary<MsgType, FieldDescriptor> TypedBodies = new TsMsg[]
    {
        new InsertMsg(), new DeleteMsg(), new TimeTickMsg(), new FlushMsg(),
        new CreateCollectionMsg(), new DropCollectionMsg(), new CreatePartitionMsg(), new DropPartitionMsg(),
    }.ToDictionary(m => m.Type, m => MsgEnvelope.Descriptor.FindFieldByNumber((int)MsgEnvelope.Parser.ParseFrom(m.Marshal()).BodyCase));

    /// <summary>Whether <paramref name="type"/> can be sent: every type of the seed's list but Undefined.</summary>
    public static bool IsSendable(MsgType type) => type != MsgType.Undefined && Enum.IsDefined(type);

    /// <summary>
    /// The message of <paramref name="type"/> with the given header and <paramref name="body"/>, read through
    /// <paramref name="dispatcher"/> as if it came from a channel. The hash keys of Insert and Delete come from
    /// their rows.
    /// </summary>
    /// <exception cref="MsgUnmarshalException">The body is not a valid body of that type.</exception>
    public static TsMsg Compose(UnmarshalDispatcher dispatcher, MsgType type, long id, ulong beginTs, ulong endTs, IReadOnlyList<uint> hashKeys, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(hashKeys);
        var envelope = new MsgEnvelope
        {
            FormatVersion = MsgCodec.FormatVersion,
            MsgType = (uint)type,
            Id = id,
            BeginTs = beginTs,
            EndTs = endTs,
        };
        envelope.HashKeys.AddRange(hashKeys);
        if (TypedBodies.TryGetValue(type, out var field))
        {
            IMessage parsed;
            try
            {
                parsed = field.MessageType.Parser.ParseFrom(body);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new MsgUnmarshalException($"The payload is not a {type} body: {ex.Message}", ex);
            }
            field.Accessor.SetValue(envelope, parsed);
        }
        else
        {
            envelope.Payload = ByteString.CopyFrom(body);
        }
        return dispatcher.Unmarshal(envelope.ToByteArray());
    }

    /// <summary>The body of <paramref name="msg"/>: its wire-format body for a typed message, else its payload.</summary>
    public static byte[] BodyOf(TsMsg msg)
    {
        ArgumentNullException.ThrowIfNull(msg);
        if (msg is PayloadMsg payload)
        {
            return payload.Payload.ToArray();
        }
        var envelope = MsgEnvelope.Parser.ParseFrom(msg.Marshal());
        return envelope.BodyCase switch
        {
            MsgEnvelope.BodyOneofCase.None => [],
            MsgEnvelope.BodyOneofCase.Payload => envelope.Payload.ToByteArray(),
            var body => ((IMessage)MsgEnvelope.Descriptor.FindFieldByNumber((int)body).Accessor.GetValue(envelope)).ToByteArray(),
        };
    }
}
