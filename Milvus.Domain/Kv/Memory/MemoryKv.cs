namespace Milvus.Domain.Kv.Memory;

/// <summary>
/// A sorted in-memory key-value store (seed A.7.6). Every operation is atomic under one lock, so it is a full
/// <see cref="ITxnKv"/>. Nothing survives the process: use it for tests and for the parameter table.
/// </summary>
public sealed class MemoryKv : TxnKvBase
{
    private readonly SortedDictionary<string, string> _tree = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly string _root;

    /// <summary>A store whose keys live under <paramref name="rootPath"/> (none when empty).</summary>
    public MemoryKv(string rootPath = "")
    {
        _root = KvPaths.NormalizeRoot(rootPath);
    }

    /// <summary>The number of keys held, across every root.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _tree.Count;
            }
        }
    }

    public override Task<string> LoadAsync(string key, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        lock (_gate)
        {
            return _tree.TryGetValue(_root + key, out var value)
                ? Task.FromResult(value)
                : throw new KvKeyNotFoundException(key);
        }
    }

    public override Task<IReadOnlyList<string>> MultiLoadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        KvGuard.Keys(keys);
        var values = new List<string>(keys.Count);
        var missing = new List<string>();
        lock (_gate)
        {
            foreach (var key in keys)
            {
                if (_tree.TryGetValue(_root + key, out var value))
                {
                    values.Add(value);
                }
                else
                {
                    missing.Add(key);
                }
            }
        }
        return missing.Count > 0 ? throw new KvKeyNotFoundException(missing) : Task.FromResult<IReadOnlyList<string>>(values);
    }

    public override Task<KvPairs> LoadWithPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var full = _root + prefix;
        var keys = new List<string>();
        var values = new List<string>();
        lock (_gate)
        {
            foreach (var (key, value) in _tree)
            {
                if (key.StartsWith(full, StringComparison.Ordinal))
                {
                    keys.Add(key[_root.Length..]);
                    values.Add(value);
                }
            }
        }
        return Task.FromResult(new KvPairs(keys, values));
    }

    /// <summary>
    /// Up to <paramref name="limit"/> pairs with <paramref name="key"/> ≤ k &lt; <paramref name="endKey"/>, in key
    /// order. An empty <paramref name="endKey"/> means no upper bound; a limit ≤ 0 means no limit.
    /// </summary>
    public KvPairs LoadRange(string key, string endKey, int limit)
    {
        ArgumentNullException.ThrowIfNull(key);
        var from = _root + key;
        var to = string.IsNullOrEmpty(endKey) ? null : _root + endKey;
        var keys = new List<string>();
        var values = new List<string>();
        lock (_gate)
        {
            foreach (var (k, v) in _tree)
            {
                if (string.CompareOrdinal(k, from) < 0 || !k.StartsWith(_root, StringComparison.Ordinal))
                {
                    continue;
                }
                if ((to is not null && string.CompareOrdinal(k, to) >= 0) || (limit > 0 && keys.Count == limit))
                {
                    break;
                }
                keys.Add(k[_root.Length..]);
                values.Add(v);
            }
        }
        return new KvPairs(keys, values);
    }

    public override Task MultiSaveAndRemoveAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removals, CancellationToken cancellationToken = default)
    {
        KvGuard.Disjoint(saves, removals);
        lock (_gate)
        {
            foreach (var (key, value) in saves)
            {
                _tree[_root + key] = value;
            }
            foreach (var key in removals)
            {
                _tree.Remove(_root + key);
            }
        }
        return Task.CompletedTask;
    }

    public override Task MultiSaveAndRemoveWithPrefixAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removalPrefixes, CancellationToken cancellationToken = default)
    {
        KvGuard.DisjointPrefixes(saves, removalPrefixes);
        lock (_gate)
        {
            foreach (var prefix in removalPrefixes)
            {
                var full = _root + prefix;
                foreach (var key in _tree.Keys.Where(k => k.StartsWith(full, StringComparison.Ordinal)).ToList())
                {
                    _tree.Remove(key);
                }
            }
            foreach (var (key, value) in saves)
            {
                _tree[_root + key] = value;
            }
        }
        return Task.CompletedTask;
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
