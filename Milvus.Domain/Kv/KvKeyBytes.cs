using System.Text;

namespace Milvus.Domain.Kv;

/// <summary>Byte-level key helpers for the backends that order keys as UTF-8 bytes (RocksDB, Redis).</summary>
internal static class KvKeyBytes
{
    /// <summary>The UTF-8 bytes of a key, whose bytewise order is the order every backend lists keys in.</summary>
    public static byte[] Encode(string key) => Encoding.UTF8.GetBytes(key);

    /// <summary>
    /// The smallest byte string greater than every string that starts with <paramref name="prefix"/>, or
    /// <see langword="null"/> when there is none (an empty prefix, or one made only of 0xFF bytes).
    /// </summary>
    public static byte[]? PrefixEnd(ReadOnlySpan<byte> prefix)
    {
        for (var i = prefix.Length - 1; i >= 0; i--)
        {
            if (prefix[i] != 0xFF)
            {
                var end = prefix[..(i + 1)].ToArray();
                end[i]++;
                return end;
            }
        }
        return null;
    }
}
