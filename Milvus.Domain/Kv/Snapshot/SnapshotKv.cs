using System.Globalization;

namespace Milvus.Domain.Kv.Snapshot;

/// <summary>
/// An <see cref="ISnapshotKv"/> over any <see cref="ITxnKv"/>. Each write stores, in one atomic step, the value
/// under the plain key (so the latest meta reads like any other key) and a version beside it, in a separate key
/// space: <c>snapshots/&lt;key&gt;_ts&lt;ts as 20 digits&gt;</c>, so the versions of a key sort by timestamp. A read
/// at ts takes the version with the greatest timestamp ≤ ts. A removal writes a tombstone version, so reads before
/// it still see the value. A write older than the key's newest version adds its version but leaves the latest value
/// alone. <see cref="GcAsync"/> drops versions that no read at or after a horizon can need.
/// Writes through one instance are serialised, because a prefix removal reads the keys it must tombstone.
/// </summary>
public sealed class SnapshotKv : ISnapshotKv
{
    /// <summary>The default key space of the versions.</summary>
    public const string DefaultSnapshotPrefix = "snapshots";

    private const string TsMarker = "_ts";
    private const int TsDigits = 20;
    // A version's stored value is a tag and the value, so that no value can be mistaken for a tombstone.
    private const char ValueTag = '+';
    private const string Tombstone = "-";
    private const int RemoveBatch = 256;

    private readonly ITxnKv _kv;
    private readonly string _snapshots;
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    /// <summary>
    /// A snapshot store over <paramref name="kv"/> that keeps its versions under <paramref name="snapshotPrefix"/>;
    /// keys under that prefix are refused as plain keys.
    /// </summary>
    public SnapshotKv(ITxnKv kv, string snapshotPrefix = DefaultSnapshotPrefix)
    {
        ArgumentNullException.ThrowIfNull(kv);
        _kv = kv;
        _snapshots = KvPaths.NormalizeRoot(snapshotPrefix);
        if (_snapshots.Length == 0)
        {
            throw new ArgumentException("The snapshot prefix must not be empty.", nameof(snapshotPrefix));
        }
    }

    public Task SaveAsync(string key, string value, ulong ts, CancellationToken cancellationToken = default) =>
        WriteAsync(new Dictionary<string, string> { [key] = value }, [], ts, null, cancellationToken);

    public async Task<string> LoadAsync(string key, ulong ts, CancellationToken cancellationToken = default)
    {
        CheckKey(key);
        if (ts == 0)
        {
            return await _kv.LoadAsync(key, cancellationToken).ConfigureAwait(false);
        }
        var versions = await _kv.LoadWithPrefixAsync(_snapshots + key + TsMarker, cancellationToken).ConfigureAwait(false);
        var best = Latest(Versions(versions).Where(v => v.Key == key), ts);
        return best is { } found && found.Value != Tombstone ? found.Value[1..] : throw new KvKeyNotFoundException(key);
    }

    public Task MultiSaveAsync(IReadOnlyDictionary<string, string> kvs, ulong ts, IReadOnlyList<SnapshotAddition>? additions = null, CancellationToken cancellationToken = default) =>
        WriteAsync(kvs, [], ts, additions, cancellationToken);

    public async Task<KvPairs> LoadWithPrefixAsync(string prefix, ulong ts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (ts == 0)
        {
            var latest = await _kv.LoadWithPrefixAsync(prefix, cancellationToken).ConfigureAwait(false);
            var plain = Enumerable.Range(0, latest.Count).Where(i => !latest.Keys[i].StartsWith(_snapshots, StringComparison.Ordinal)).ToList();
            return new KvPairs(plain.Select(i => latest.Keys[i]).ToList(), plain.Select(i => latest.Values[i]).ToList());
        }
        var versions = await _kv.LoadWithPrefixAsync(_snapshots + prefix, cancellationToken).ConfigureAwait(false);
        var alive = Versions(versions)
            .Where(v => v.Key.StartsWith(prefix, StringComparison.Ordinal))
            .GroupBy(v => v.Key, StringComparer.Ordinal)
            .Select(g => Latest(g, ts))
            .OfType<Version>()
            .Where(v => v.Value != Tombstone)
            .OrderBy(v => v.Key, StringComparer.Ordinal)
            .ToList();
        return new KvPairs(alive.Select(v => v.Key).ToList(), alive.Select(v => v.Value[1..]).ToList());
    }

    public Task MultiSaveAndRemoveWithPrefixAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removalPrefixes, ulong ts, IReadOnlyList<SnapshotAddition>? additions = null, CancellationToken cancellationToken = default) =>
        WriteAsync(saves, removalPrefixes, ts, additions, cancellationToken);

    /// <summary>
    /// Drops every version that no read at a timestamp ≥ <paramref name="expireBeforeTs"/> can return: for each
    /// key, all versions older than its newest version ≤ the horizon, and that version too when it is a tombstone.
    /// Reads at or after the horizon answer as before; reads before it may no longer find old values.
    /// </summary>
    /// <returns>The number of versions dropped.</returns>
    public async Task<int> GcAsync(ulong expireBeforeTs, CancellationToken cancellationToken = default)
    {
        var versions = await _kv.LoadWithPrefixAsync(_snapshots, cancellationToken).ConfigureAwait(false);
        var expired = new List<string>();
        foreach (var group in Versions(versions).GroupBy(v => v.Key, StringComparer.Ordinal))
        {
            var ordered = group.OrderBy(v => v.Ts).ToList();
            var horizon = ordered.FindLastIndex(v => v.Ts <= expireBeforeTs);
            if (horizon < 0)
            {
                continue;
            }
            var drop = ordered[horizon].Value == Tombstone ? horizon + 1 : horizon;
            expired.AddRange(ordered.Take(drop).Select(v => VersionKey(v.Key, v.Ts)));
        }
        foreach (var chunk in expired.Chunk(RemoveBatch))
        {
            await _kv.MultiRemoveAsync(chunk, cancellationToken).ConfigureAwait(false);
        }
        return expired.Count;
    }

    private async Task WriteAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removalPrefixes, ulong ts, IReadOnlyList<SnapshotAddition>? additions, CancellationToken cancellationToken)
    {
        if (ts == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ts), "A write needs a timestamp above 0.");
        }
        KvGuard.DisjointPrefixes(saves, removalPrefixes);
        var all = new Dictionary<string, string>(saves, StringComparer.Ordinal);
        foreach (var addition in additions ?? [])
        {
            var (key, value) = addition(ts);
            if (!all.TryAdd(key, value))
            {
                throw new ArgumentException($"The addition's key '{key}' is already saved in this step.", nameof(additions));
            }
        }
        KvGuard.DisjointPrefixes(all, removalPrefixes);
        foreach (var (key, value) in all)
        {
            CheckKey(key);
            ArgumentNullException.ThrowIfNull(value, nameof(saves));
        }
        foreach (var prefix in removalPrefixes)
        {
            ArgumentNullException.ThrowIfNull(prefix, nameof(removalPrefixes));
            if (_snapshots.StartsWith(prefix, StringComparison.Ordinal) || prefix.StartsWith(_snapshots, StringComparison.Ordinal))
            {
                throw new ArgumentException($"The prefix '{prefix}' would remove the snapshot versions under '{_snapshots}'.", nameof(removalPrefixes));
            }
        }

        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var writes = new Dictionary<string, string>(all, StringComparer.Ordinal);
            foreach (var (key, value) in all)
            {
                writes[VersionKey(key, ts)] = ValueTag + value;
                // As in Milvus, the latest value moves only for a timestamp at or above the key's newest version; an
                // older write is a version that reads at its timestamp see, not the latest.
                if (await NewestVersionAsync(key, cancellationToken).ConfigureAwait(false) > ts)
                {
                    writes.Remove(key);
                }
            }
            foreach (var prefix in removalPrefixes)
            {
                var removed = await _kv.LoadWithPrefixAsync(prefix, cancellationToken).ConfigureAwait(false);
                foreach (var key in removed.Keys)
                {
                    writes[VersionKey(key, ts)] = Tombstone;
                }
            }
            await _kv.MultiSaveAndRemoveWithPrefixAsync(writes, removalPrefixes, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>The timestamp of the newest version of <paramref name="key"/>, or 0 when it has none.</summary>
    private async Task<ulong> NewestVersionAsync(string key, CancellationToken cancellationToken)
    {
        var versions = await _kv.LoadWithPrefixAsync(_snapshots + key + TsMarker, cancellationToken).ConfigureAwait(false);
        return Versions(versions).Where(v => v.Key == key).Select(v => v.Ts).DefaultIfEmpty(0UL).Max();
    }

    private void CheckKey(string key)
    {
        KvGuard.Key(key);
        if (key.StartsWith(_snapshots, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The key '{key}' lies in the snapshot key space '{_snapshots}'.", nameof(key));
        }
    }

    private string VersionKey(string key, ulong ts) => _snapshots + key + TsMarker + ts.ToString("D20", CultureInfo.InvariantCulture);

    /// <summary>The versions among <paramref name="pairs"/>: keys of the form snapshots/&lt;key&gt;_ts&lt;20 digits&gt;.</summary>
    private IEnumerable<Version> Versions(KvPairs pairs)
    {
        var minimum = _snapshots.Length + 1 + TsMarker.Length + TsDigits;
        for (var i = 0; i < pairs.Count; i++)
        {
            var full = pairs.Keys[i];
            if (full.Length < minimum || !full.StartsWith(_snapshots, StringComparison.Ordinal))
            {
                continue;
            }
            var digits = full.AsSpan(full.Length - TsDigits);
            var marker = full.AsSpan(full.Length - TsDigits - TsMarker.Length, TsMarker.Length);
            if (marker.SequenceEqual(TsMarker) && ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var ts))
            {
                yield return new Version(full[_snapshots.Length..^(TsDigits + TsMarker.Length)], ts, pairs.Values[i]);
            }
        }
    }

    private static Version? Latest(IEnumerable<Version> versions, ulong ts) =>
        versions.Where(v => v.Ts <= ts).MaxBy(v => v.Ts);

    private sealed record Version(string Key, ulong Ts, string Value);
}
