using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Milvus.Domain.Mq.RocksMq;

/// <summary>
/// RocksMQ's key layout. Data (family <c>data</c>): <c>channel/</c> + the big-endian msg id, so a channel's
/// messages sort in id order and lie in <c>[channel/, channel0)</c> ('0' follows '/'). Meta (family <c>meta</c>),
/// after the seed: <c>channel/begin_id</c>, <c>channel/end_id</c>, <c>group/channel/current_id</c>, and one
/// <c>channel/page/&lt;last id as 16 hex digits&gt;</c> per closed page. Names hold no '/', so the shapes never
/// collide. Values are big-endian 64-bit integers.
/// </summary>
internal static class RocksMqKeys
{
    public const string BeginId = "begin_id";
    public const string EndId = "end_id";
    public const string CurrentId = "current_id";
    public const string Page = "page";

    public static byte[] DataPrefix(string channel) => Encoding.ASCII.GetBytes(channel + "/");

    public static byte[] DataUpperBound(string channel) => Encoding.ASCII.GetBytes(channel + "0");

    public static byte[] DataKey(byte[] prefix, long msgId)
    {
        var key = new byte[prefix.Length + sizeof(long)];
        WriteDataKey(prefix, msgId, key);
        return key;
    }

    public static void WriteDataKey(ReadOnlySpan<byte> prefix, long msgId, Span<byte> destination)
    {
        prefix.CopyTo(destination);
        BinaryPrimitives.WriteInt64BigEndian(destination[prefix.Length..], msgId);
    }

    public static long MsgIdOf(ReadOnlySpan<byte> dataKey) => BinaryPrimitives.ReadInt64BigEndian(dataKey[^sizeof(long)..]);

    public static byte[] BeginIdKey(string channel) => Encoding.ASCII.GetBytes($"{channel}/{BeginId}");

    public static byte[] EndIdKey(string channel) => Encoding.ASCII.GetBytes($"{channel}/{EndId}");

    public static byte[] GroupKey(string channel, string group) => Encoding.ASCII.GetBytes($"{group}/{channel}/{CurrentId}");

    public static byte[] PageKey(string channel, long lastId) =>
        Encoding.ASCII.GetBytes($"{channel}/{Page}/{lastId.ToString("x16", CultureInfo.InvariantCulture)}");

    public static byte[] Int64(long value)
    {
        var bytes = new byte[sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    public static long ReadInt64(ReadOnlySpan<byte> value) => BinaryPrimitives.ReadInt64BigEndian(value);

    /// <summary>A page's meta value: its bytes, message count and the Unix ms at which it closed.</summary>
    public static byte[] PageValue(RocksMqPage page)
    {
        var bytes = new byte[3 * sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(bytes, page.Bytes);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(8), page.Count);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(16), page.ClosedAtMs);
        return bytes;
    }

    public static RocksMqPage ReadPage(long lastId, ReadOnlySpan<byte> value) => new(
        lastId,
        BinaryPrimitives.ReadInt64BigEndian(value),
        BinaryPrimitives.ReadInt64BigEndian(value[8..]),
        BinaryPrimitives.ReadInt64BigEndian(value[16..]));

    /// <summary>Parses a meta key into what it describes; false for a key of no known shape.</summary>
    public static bool TryParseMeta(string key, out MetaKey parsed)
    {
        var parts = key.Split('/');
        parsed = parts switch
        {
            [var channel, BeginId] => new MetaKey(MetaKind.BeginId, channel, "", 0),
            [var channel, EndId] => new MetaKey(MetaKind.EndId, channel, "", 0),
            [var group, var channel, CurrentId] => new MetaKey(MetaKind.Group, channel, group, 0),
            [var channel, Page, var hex] when long.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var lastId)
                => new MetaKey(MetaKind.Page, channel, "", lastId),
            _ => default,
        };
        return parsed.Kind != MetaKind.None;
    }

    public enum MetaKind
    {
        None,
        BeginId,
        EndId,
        Group,
        Page,
    }

    public readonly record struct MetaKey(MetaKind Kind, string Channel, string Group, long LastId);
}

/// <summary>
/// A produce's idempotency key in the <c>keys</c> family: the key <c>channel/</c> + the client's key (so a channel's
/// keys lie in <c>[channel/, channel0)</c> like its data), and the value: when the key expires (Unix ms), the first
/// id and the count of the batch (whose ids are consecutive), the fingerprint, then the caller's note.
/// </summary>
internal readonly record struct RocksMqKeyRecord(long ExpiresAtMs, long FirstId, int Count, ReadOnlyMemory<byte> Fingerprint, ReadOnlyMemory<byte> Note)
{
    private const int Header = sizeof(long) + sizeof(long) + sizeof(int) + MqProduceKey.FingerprintBytes;

    public static byte[] Key(byte[] channelPrefix, string key)
    {
        var bytes = new byte[channelPrefix.Length + Encoding.ASCII.GetByteCount(key)];
        channelPrefix.CopyTo(bytes, 0);
        Encoding.ASCII.GetBytes(key, bytes.AsSpan(channelPrefix.Length));
        return bytes;
    }

    public byte[] Encode()
    {
        var bytes = new byte[Header + Note.Length];
        BinaryPrimitives.WriteInt64BigEndian(bytes, ExpiresAtMs);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(8), FirstId);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(16), Count);
        Fingerprint.Span.CopyTo(bytes.AsSpan(20));
        Note.Span.CopyTo(bytes.AsSpan(Header));
        return bytes;
    }

    /// <summary>The record in a stored value; false for a value of another shape.</summary>
    public static bool TryDecode(byte[] value, out RocksMqKeyRecord record)
    {
        if (value.Length < Header)
        {
            record = default;
            return false;
        }
        record = new RocksMqKeyRecord(
            BinaryPrimitives.ReadInt64BigEndian(value),
            BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(8)),
            BinaryPrimitives.ReadInt32BigEndian(value.AsSpan(16)),
            value.AsMemory(20, MqProduceKey.FingerprintBytes),
            value.AsMemory(Header));
        return true;
    }

    /// <summary>When a stored value expires (Unix ms); long.MinValue for a value of another shape, which is purged.</summary>
    public static long ExpiresAt(ReadOnlySpan<byte> value) => value.Length < Header ? long.MinValue : BinaryPrimitives.ReadInt64BigEndian(value);
}

/// <summary>A closed retention page: the messages after the previous page up to <see cref="LastId"/>.</summary>
internal readonly record struct RocksMqPage(long LastId, long Bytes, long Count, long ClosedAtMs);
