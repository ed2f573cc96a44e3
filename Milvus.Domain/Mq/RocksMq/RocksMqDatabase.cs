using RocksDbSharp;

namespace Milvus.Domain.Mq.RocksMq;

/// <summary>
/// The one RocksDB that holds RocksMQ: column family <c>data</c> for messages, <c>meta</c> for channel, group and
/// page meta, <c>keys</c> for the idempotency keys of produces, and the default family for the fallback id
/// allocator. One database, so that one write batch makes a produce (data, end id, page, key) or a group move atomic. Calls hold a <see cref="Lease"/>, and
/// <see cref="Close"/> waits for them, so a handle is never used after it is freed.
/// </summary>
public sealed class RocksMqDatabase : IDisposable
{
    /// <summary>The column family of messages.</summary>
    public const string DataFamily = "data";

    /// <summary>The column family of meta.</summary>
    public const string MetaFamily = "meta";

    /// <summary>The column family of produces' idempotency keys.</summary>
    public const string KeysFamily = "keys";

    /// <summary>The write-ahead log total past which RocksDB flushes the families that pin the oldest log.</summary>
    public const ulong MaxTotalWalBytes = 64UL * 1024 * 1024;

    private readonly object _gate = new();
    private RocksDb? _db;
    private bool _accepting;
    private int _users;
    private long _generation;

    /// <summary>Raised when a RocksDB call fails, with the error.</summary>
    public event Action<Exception>? Faulted;

    /// <summary>Whether the database is open.</summary>
    public bool IsOpen
    {
        get
        {
            lock (_gate)
            {
                return _accepting;
            }
        }
    }

    /// <summary>The directory of the open database.</summary>
    public string? Path { get; private set; }

    /// <summary>Bumped at each open, so that callers can tell a reopened database from the one they loaded.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    internal RocksDb Db => _db ?? throw Closed();

    internal ColumnFamilyHandle Data { get; private set; } = null!;

    internal ColumnFamilyHandle Meta { get; private set; } = null!;

    internal ColumnFamilyHandle Keys { get; private set; } = null!;

    internal ColumnFamilyHandle Default { get; private set; } = null!;

    /// <summary>Write options of every mutation: the WAL always, an fsync when <c>SyncWrites</c> is on.</summary>
    internal WriteOptions WriteOptions { get; private set; } = null!;

    /// <summary>The LRU cache shared by both families' data, index and filter blocks.</summary>
    private const ulong BlockCacheBytes = 32UL * 1024 * 1024;

    /// <summary>One memtable of the data family; two may exist while one flushes.</summary>
    private const ulong DataWriteBufferBytes = 32UL * 1024 * 1024;

    /// <summary>One memtable of the meta family (positions, ends and pages: small values), and of the keys family.</summary>
    private const ulong MetaWriteBufferBytes = 4UL * 1024 * 1024;

    private Cache? _blockCache;

    /// <summary>The size of one index partition, so that each fits a shard of the block cache.</summary>
    private const ulong IndexPartitionBytes = 4 * 1024;

    private ColumnFamilyOptions BoundedFamily(ulong writeBufferBytes, bool bloom = false)
    {
        // The index is partitioned (two-level): a file's index is one block per 4 KiB of index, found through a
        // small top level that stays pinned while the file is open. A single index block grows with its file (about
        // 1 MiB for a 64 MiB file of 1 KiB msgs), more than a shard of the LRU cache holds (32 MiB / 64 shards), so it
        // was never kept: every consume's seek read it again and decompressed it, and consumes slowed as the channel's
        // files grew (issue 23).
        var table = new BlockBasedTableOptions()
            .SetBlockCache(_blockCache!)
            .SetCacheIndexAndFilterBlocks(true)
            .SetPinL0FilterAndIndexBlocksInCache(true)
            .SetIndexType(BlockBasedTableIndexType.TwoLevelIndex);
        if (bloom)
        {
            // Point lookups that mostly miss (a fresh idempotency key): the filter answers "absent" without a read. It is
            // partitioned like the index: a whole-file filter of a large file outgrows a cache shard, and would be read
            // again on every lookup.
            table.SetFilterPolicy(BloomFilterPolicy.Create(10, false));
            Native.Instance.rocksdb_block_based_options_set_partition_filters(table.Handle, 1);
        }
        Native.Instance.rocksdb_block_based_options_set_metadata_block_size(table.Handle, IndexPartitionBytes);
        Native.Instance.rocksdb_block_based_options_set_pin_top_level_index_and_filter(table.Handle, 1);
        return new ColumnFamilyOptions()
            .SetBlockBasedTableFactory(table)
            .SetWriteBufferSize(writeBufferBytes)
            .SetMaxWriteBufferNumber(2);
    }

    /// <summary>Opens (creating when missing) the database in <paramref name="path"/>.</summary>
    /// <exception cref="MqUnavailableException">RocksDB cannot open it.</exception>
    public void Open(string path, bool syncWrites)
    {
        lock (_gate)
        {
            if (_db is not null)
            {
                throw new InvalidOperationException($"RocksMQ is already open at {Path}.");
            }
            try
            {
                Directory.CreateDirectory(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new MqUnavailableException($"RocksMQ cannot create its folder {path}: {ex.Message}", ex);
            }
            var options = new DbOptions()
                .SetCreateIfMissing(true)
                .SetCreateMissingColumnFamilies(true)
                .SetKeepLogFileNum(2)
                // A log file lives until every family has flushed past it; the small meta family would otherwise
                // keep gigabytes of message logs alive. Past this total the oldest logs' families are flushed.
                .SetMaxTotalWalSize(MaxTotalWalBytes)
                .SetMaxLogFileSize(4 * 1024 * 1024)
                .IncreaseParallelism(Math.Max(2, Environment.ProcessorCount));
            // Memory stays bounded whatever the data size: index and filter blocks live in one LRU block cache
            // instead of growing with every SST file, and each family's memtables have a fixed budget.
            _blockCache ??= Cache.CreateLru(BlockCacheBytes);
            var families = new ColumnFamilies
            {
                { DataFamily, BoundedFamily(DataWriteBufferBytes) },
                { MetaFamily, BoundedFamily(MetaWriteBufferBytes) },
                { KeysFamily, BoundedFamily(MetaWriteBufferBytes, bloom: true) },
            };
            try
            {
                _db = RocksDb.Open(options, path, families);
            }
            catch (RocksDbException ex)
            {
                throw new MqUnavailableException($"RocksMQ cannot open its database at {path}: {ex.Message}", ex);
            }
            Data = _db.GetColumnFamily(DataFamily);
            Meta = _db.GetColumnFamily(MetaFamily);
            Keys = _db.GetColumnFamily(KeysFamily);
            Default = _db.GetDefaultColumnFamily();
            WriteOptions = new WriteOptions().SetSync(syncWrites);
            Path = path;
            _accepting = true;
            Interlocked.Increment(ref _generation);
        }
    }

    /// <summary>Marks a call in progress; dispose the lease when the call is done.</summary>
    /// <exception cref="MqUnavailableException">The database is closed.</exception>
    public Lease Acquire()
    {
        lock (_gate)
        {
            if (!_accepting)
            {
                throw Closed();
            }
            _users++;
        }
        return new Lease(this);
    }

    /// <summary>Runs a RocksDB call, turning a RocksDB failure into <see cref="MqUnavailableException"/>.</summary>
    internal T Io<T>(Func<T> call, string what)
    {
        try
        {
            return call();
        }
        catch (RocksDbException ex)
        {
            throw Fail(ex, what);
        }
    }

    /// <summary>Reports a RocksDB failure and returns the error to throw in its place.</summary>
    internal MqUnavailableException Fail(RocksDbException error, string what)
    {
        Faulted?.Invoke(error);
        return new MqUnavailableException($"RocksMQ failed to {what}: {error.Message}", error);
    }

    /// <summary>
    /// Flushes every family's memtable to files and waits, so that no write-ahead log is needed any more and
    /// RocksDB can delete them. The caller holds a lease.
    /// </summary>
    internal void FlushAll()
    {
        var options = new FlushOptions().SetWaitForFlush(true);
        Native.Instance.rocksdb_flush_cfs(Db.Handle, options.Handle, [Data.Handle, Meta.Handle, Keys.Handle, Default.Handle], 4);
    }

    /// <summary>Reads a property of the database; returns null when it answers, else why not.</summary>
    public string? Probe()
    {
        try
        {
            using var lease = Acquire();
            return Db.GetProperty("rocksdb.estimate-num-keys") is null ? "no answer to a property read" : null;
        }
        catch (MqUnavailableException ex)
        {
            return ex.Message;
        }
        catch (RocksDbException ex)
        {
            return Fail(ex, "answer a probe").Message;
        }
    }

    /// <summary>Waits for the calls in progress, then closes the database. Closing a closed database does nothing.</summary>
    public void Close()
    {
        RocksDb? db;
        lock (_gate)
        {
            _accepting = false;
            while (_users > 0)
            {
                Monitor.Wait(_gate);
            }
            db = _db;
            _db = null;
        }
        db?.Dispose();
    }

    public void Dispose() => Close();

    private void Release()
    {
        lock (_gate)
        {
            _users--;
            if (_users == 0)
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    private static MqUnavailableException Closed() => new("RocksMQ is not open: its component has not started or has stopped.");

    /// <summary>A call in progress on the database.</summary>
    public readonly struct Lease(RocksMqDatabase owner) : IDisposable
    {
        public void Dispose() => owner.Release();
    }
}
