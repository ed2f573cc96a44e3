using System.Text;
using RocksDbSharp;

namespace Milvus.Domain.Kv.RocksDb;

/// <summary>
/// A <see cref="ITxnKv"/> on an embedded RocksDB database (seed A.7.8): the default meta store of the embedded
/// mode. Every write, however many keys it touches, is one <see cref="WriteBatch"/>, so it applies in full or not
/// at all, and goes through the write-ahead log; with <c>sync</c> each write is also fsynced before it returns.
/// Prefix removals are range deletions. Keys are stored as UTF-8 under the root path, so they sort bytewise.
/// RocksDB calls are short and synchronous, so the methods complete before they return. Thread-safe.
/// </summary>
public sealed class RocksDbKv : TxnKvBase
{
    private const string BackendName = "rocksdb";

    private readonly RocksDbSharp.RocksDb _db;
    private readonly WriteOptions _writeOptions;
    private readonly string _root;
    private readonly byte[] _rootBytes;
    // Operations hold the read side; Dispose takes the write side, so the native handle is never closed under a
    // running call.
    private readonly ReaderWriterLockSlim _gate = new(LockRecursionPolicy.NoRecursion);
    private bool _disposed;

    private RocksDbKv(RocksDbSharp.RocksDb db, string directory, string rootPath, bool sync)
    {
        _db = db;
        Directory = directory;
        _root = KvPaths.NormalizeRoot(rootPath);
        _rootBytes = KvKeyBytes.Encode(_root);
        _writeOptions = new WriteOptions().SetSync(sync);
    }

    /// <summary>The directory that holds the database.</summary>
    public string Directory { get; }

    /// <summary>
    /// Opens (creating when missing) the database in <paramref name="directory"/>. Keys live under
    /// <paramref name="rootPath"/>; with <paramref name="sync"/> every write is fsynced before it returns.
    /// </summary>
    /// <exception cref="KvUnavailableException">The database cannot be opened, e.g. another process holds it.</exception>
    public static RocksDbKv Open(string directory, string rootPath = "", bool sync = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var full = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(full);
        var options = new DbOptions()
            .SetCreateIfMissing(true)
            .IncreaseParallelism(Math.Max(2, Environment.ProcessorCount));
        try
        {
            return new RocksDbKv(RocksDbSharp.RocksDb.Open(options, full), full, rootPath, sync);
        }
        catch (RocksDbException e)
        {
            throw new KvUnavailableException(BackendName, $"cannot open '{full}': {e.Message}", e);
        }
    }

    public override Task<string> LoadAsync(string key, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        cancellationToken.ThrowIfCancellationRequested();
        var value = Guarded(() => _db.Get(Full(key)));
        return value is null ? throw new KvKeyNotFoundException(key) : Task.FromResult(Encoding.UTF8.GetString(value));
    }

    public override Task<IReadOnlyList<string>> MultiLoadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        KvGuard.Keys(keys);
        cancellationToken.ThrowIfCancellationRequested();
        var values = new List<string>(keys.Count);
        var missing = new List<string>();
        Guarded(() =>
        {
            using var snapshot = _db.CreateSnapshot();
            var readOptions = new ReadOptions().SetSnapshot(snapshot);
            foreach (var key in keys)
            {
                if (_db.Get(Full(key), readOptions: readOptions) is { } value)
                {
                    values.Add(Encoding.UTF8.GetString(value));
                }
                else
                {
                    missing.Add(key);
                }
            }
            return 0;
        });
        return missing.Count > 0 ? throw new KvKeyNotFoundException(missing) : Task.FromResult<IReadOnlyList<string>>(values);
    }

    public override Task<KvPairs> LoadWithPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        cancellationToken.ThrowIfCancellationRequested();
        var start = Full(prefix);
        return Task.FromResult(Scan(start, KvKeyBytes.PrefixEnd(start), 0));
    }

    /// <summary>
    /// Up to <paramref name="limit"/> pairs with <paramref name="key"/> ≤ k &lt; <paramref name="endKey"/>, in key
    /// order. An empty <paramref name="endKey"/> means no upper bound; a limit ≤ 0 means no limit.
    /// </summary>
    public KvPairs LoadRange(string key, string endKey, int limit)
    {
        ArgumentNullException.ThrowIfNull(key);
        var end = string.IsNullOrEmpty(endKey) ? KvKeyBytes.PrefixEnd(_rootBytes) : Full(endKey);
        return Scan(Full(key), end, limit);
    }

    /// <summary>
    /// Compacts the key range under <paramref name="prefix"/>, so that the space of removed keys is reclaimed now
    /// rather than at RocksDB's own pace.
    /// </summary>
    public void Compact(string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var start = Full(prefix);
        Guarded(() =>
        {
            _db.CompactRange(start, KvKeyBytes.PrefixEnd(start));
            return 0;
        });
    }

    public override Task SaveAsync(string key, string value, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        ArgumentNullException.ThrowIfNull(value);
        cancellationToken.ThrowIfCancellationRequested();
        using var batch = new WriteBatch();
        batch.Put(Full(key), Encoding.UTF8.GetBytes(value));
        Write(batch);
        return Task.CompletedTask;
    }

    public override Task MultiSaveAndRemoveAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removals, CancellationToken cancellationToken = default)
    {
        KvGuard.Disjoint(saves, removals);
        cancellationToken.ThrowIfCancellationRequested();
        using var batch = new WriteBatch();
        Put(batch, saves);
        foreach (var key in removals)
        {
            batch.Delete(Full(key));
        }
        Write(batch);
        return Task.CompletedTask;
    }

    public override Task MultiSaveAndRemoveWithPrefixAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removalPrefixes, CancellationToken cancellationToken = default)
    {
        KvGuard.DisjointPrefixes(saves, removalPrefixes);
        foreach (var prefix in removalPrefixes)
        {
            ArgumentNullException.ThrowIfNull(prefix, nameof(removalPrefixes));
        }
        cancellationToken.ThrowIfCancellationRequested();
        using var batch = new WriteBatch();
        Guarded(() =>
        {
            foreach (var prefix in removalPrefixes)
            {
                var start = Full(prefix);
                if (KvKeyBytes.PrefixEnd(start) is { } end)
                {
                    batch.DeleteRange(start, (ulong)start.Length, end, (ulong)end.Length);
                }
                else
                {
                    // No byte string bounds this prefix (an empty root and prefix): delete key by key.
                    using var iterator = _db.NewIterator();
                    for (iterator.Seek(start); iterator.Valid(); iterator.Next())
                    {
                        batch.Delete(iterator.Key());
                    }
                }
            }
            return 0;
        });
        Put(batch, saves);
        Write(batch);
        return Task.CompletedTask;
    }

    public override ValueTask DisposeAsync()
    {
        _gate.EnterWriteLock();
        try
        {
            if (!_disposed)
            {
                _disposed = true;
                _db.Dispose();
            }
        }
        finally
        {
            _gate.ExitWriteLock();
        }
        return ValueTask.CompletedTask;
    }

    private byte[] Full(string key) => KvKeyBytes.Encode(_root + key);

    private void Put(WriteBatch batch, IReadOnlyDictionary<string, string> saves)
    {
        foreach (var (key, value) in saves)
        {
            ArgumentNullException.ThrowIfNull(value, nameof(saves));
            batch.Put(Full(key), Encoding.UTF8.GetBytes(value));
        }
    }

    private KvPairs Scan(byte[] start, byte[]? end, int limit) => Guarded(() =>
    {
        var readOptions = new ReadOptions();
        if (end is not null)
        {
            readOptions.SetIterateUpperBound(end);
        }
        var keys = new List<string>();
        var values = new List<string>();
        using var iterator = _db.NewIterator(readOptions: readOptions);
        for (iterator.Seek(start); iterator.Valid() && (limit <= 0 || keys.Count < limit); iterator.Next())
        {
            var key = iterator.GetKeySpan();
            if (!key.StartsWith(_rootBytes))
            {
                break;
            }
            keys.Add(Encoding.UTF8.GetString(key[_rootBytes.Length..]));
            values.Add(Encoding.UTF8.GetString(iterator.GetValueSpan()));
        }
        // The native iterator reads its upper bound from the native read options; without this the options can be
        // finalized (and freed) mid-scan once the managed reference is dead, which ended long scans early.
        GC.KeepAlive(readOptions);
        return new KvPairs(keys, values);
    });

    private void Write(WriteBatch batch) => Guarded(() =>
    {
        _db.Write(batch, _writeOptions);
        return 0;
    });

    private T Guarded<T>(Func<T> action)
    {
        _gate.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return action();
        }
        catch (RocksDbException e)
        {
            throw new KvUnavailableException(BackendName, e.Message, e);
        }
        finally
        {
            _gate.ExitReadLock();
        }
    }
}
