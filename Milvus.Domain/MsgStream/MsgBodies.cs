namespace Milvus.Domain.MsgStream;

/// <summary>Which message types can be sent, and which have a typed body of their own in the wire format.</summary>
public static class MsgBodies
{
    /// <summary>The types whose wire format has a body of its own (every other type carries a payload).</summary>
    private static readonly HashSet<MsgType> Typed =
    [
        MsgType.Insert, MsgType.Delete, MsgType.TimeTick, MsgType.Flush,
        MsgType.CreateCollection, MsgType.DropCollection, MsgType.CreatePartition, MsgType.DropPartition,
    ];

    /// <summary>Whether <paramref name="type"/> can be sent: every type of the seed's list but Undefined.</summary>
    public static bool IsSendable(MsgType type) => type != MsgType.Undefined && Enum.IsDefined(type);

    /// <summary>Whether <paramref name="type"/> has a typed body (Insert, Delete, TimeTick, Flush, the DDL messages).</summary>
    public static bool HasTypedBody(MsgType type) => Typed.Contains(type);
}
