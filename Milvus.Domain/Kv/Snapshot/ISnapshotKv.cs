namespace Milvus.Domain.Kv.Snapshot;

/// <summary>
/// Computes one extra pair from the timestamp of the write it joins; the pair is saved in the same atomic step.
/// </summary>
public delegate KeyValuePair<string, string> SnapshotAddition(ulong ts);

/// <summary>
/// A key-value store that keeps every value as of the timestamp it was written at (seed A.7.4), so that meta can be
/// read as it stood at any timestamp. Every write is atomic. Timestamp 0 means "now": it reads the latest values.
/// </summary>
public interface ISnapshotKv
{
    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/> as of <paramref name="ts"/>.</summary>
    Task SaveAsync(string key, string value, ulong ts, CancellationToken cancellationToken = default);

    /// <summary>The value <paramref name="key"/> had at <paramref name="ts"/>: the one written at the greatest timestamp ≤ ts.</summary>
    /// <exception cref="KvKeyNotFoundException">The key had no value at that timestamp (never written, or removed).</exception>
    Task<string> LoadAsync(string key, ulong ts, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets every pair of <paramref name="kvs"/>, and the pair each of <paramref name="additions"/> computes, as of
    /// <paramref name="ts"/>, in one atomic step.
    /// </summary>
    Task MultiSaveAsync(IReadOnlyDictionary<string, string> kvs, ulong ts, IReadOnlyList<SnapshotAddition>? additions = null, CancellationToken cancellationToken = default);

    /// <summary>Every pair whose key starts with <paramref name="prefix"/>, as it stood at <paramref name="ts"/>, in key order.</summary>
    Task<KvPairs> LoadWithPrefixAsync(string prefix, ulong ts, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves <paramref name="saves"/> (and the <paramref name="additions"/>) and removes every key under
    /// <paramref name="removalPrefixes"/>, as of <paramref name="ts"/>, in one atomic step. Reads at earlier
    /// timestamps still see the removed keys.
    /// </summary>
    Task MultiSaveAndRemoveWithPrefixAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removalPrefixes, ulong ts, IReadOnlyList<SnapshotAddition>? additions = null, CancellationToken cancellationToken = default);
}
