using System.Globalization;

namespace Milvus.Domain.Mq.Redis;

/// <summary>
/// The reversible mapping between a Redis stream entry id <c>ms-seq</c> and a 64-bit msg id:
/// <c>msgId = ms &lt;&lt; 20 | seq</c>, with <c>seq</c> kept below 2^20 by the produce script (it moves on to
/// <c>ms + 1</c> instead). Entry ids then increase exactly as msg ids do, consecutive entries of one batch get
/// consecutive msg ids, and Unix milliseconds fit until the year 71,700.
/// </summary>
public static class RedisMqIds
{
    /// <summary>Bits of the sequence part.</summary>
    public const int SeqBits = 20;

    /// <summary>The largest sequence part.</summary>
    public const long MaxSeq = (1L << SeqBits) - 1;

    /// <summary>The msg id of an entry id <c>ms-seq</c>.</summary>
    /// <exception cref="FormatException">The text is not an entry id that this queue writes.</exception>
    public static long FromEntryId(string entryId)
    {
        ArgumentNullException.ThrowIfNull(entryId);
        var dash = entryId.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0
            || !long.TryParse(entryId.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            || !long.TryParse(entryId.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            || seq > MaxSeq || ms > long.MaxValue >> SeqBits)
        {
            throw new FormatException($"'{entryId}' is not a stream entry id of this queue.");
        }
        return FromParts(ms, seq);
    }

    /// <summary>The msg id of the entry <c>ms-seq</c>.</summary>
    public static long FromParts(long ms, long seq) => (ms << SeqBits) | seq;

    /// <summary>The entry id <c>ms-seq</c> of a positive msg id.</summary>
    public static string ToEntryId(long msgId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(msgId);
        return string.Create(CultureInfo.InvariantCulture, $"{msgId >> SeqBits}-{msgId & MaxSeq}");
    }
}
