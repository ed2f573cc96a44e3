using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Milvus.Domain.Kv.Embedded;

/// <summary>Limits of <see cref="EmbeddedMetaKv"/>.</summary>
public sealed class EmbeddedMetaKvOptions
{
    /// <summary>How many past events are kept for watches from an older revision (etcd's history, bounded).</summary>
    public int HistoryEvents { get; init; } = 10_000;

    /// <summary>How many responses a watcher may leave unread before it is cancelled as compacted.</summary>
    public int WatcherCapacity { get; init; } = 1_024;
}

/// <summary>
/// <see cref="IMetaKv"/> emulated in-process over any <see cref="ITxnKv"/>, with etcd's semantics, so the
/// single-process mode has revisions, watches, leases and compare-and-swap too.
/// </summary>
/// <remarks>
/// <para>
/// One async lock serialises every operation, so the store is linearizable. The current state is mirrored in
/// memory for reads; each write goes first to the underlying store as one atomic batch that holds the changed
/// records (value, create and mod revision, version, lease) and the new global revision, and only then to the
/// mirror. Keys live under <c>root/kv/</c> and the counters under <c>root/meta/</c> of the underlying store.
/// </para>
/// <para>
/// Leases expire through the injected <see cref="TimeProvider"/>: every operation first expires the leases that
/// are due, and a timer wakes a loop that does the same when nothing else runs. An expired lease deletes its
/// keys in one revision, with Delete events. Leases do not survive the process (their owner is gone): keys bound
/// to a lease are removed when the store is opened, in one revision that emits no events, and the watch history
/// starts after it, so a watch from before the restart is told to list again.
/// </para>
/// <para>
/// Watches replay from a bounded history (<see cref="EmbeddedMetaKvOptions.HistoryEvents"/>) and then follow
/// live through a bounded queue per watcher. A watcher that leaves <see cref="EmbeddedMetaKvOptions.WatcherCapacity"/>
/// responses unread is cancelled with <see cref="KvWatchCompactedException"/>, so a slow reader never blocks writers.
/// </para>
/// </remarks>
public sealed partial class EmbeddedMetaKv : TxnKvBase, IMetaKv
{
    private const string Backend = "embedded meta";

    private readonly ITxnKv _store;
    private readonly bool _ownsStore;
    private readonly string _root;
    private readonly string _dataPrefix;
    private readonly string _revisionKey;
    private readonly string _leaseKey;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EmbeddedWatchHub _hub;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SortedSet<string> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<long, LeaseState> _leases = [];
    private readonly Channel<bool> _expirySignal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private readonly ITimer _expiryTimer;
    private Task _expiryLoop = Task.CompletedTask;
    private long _revision;
    private long _lastLeaseId;
    private int _disposed;
    private volatile bool _closed;

    private EmbeddedMetaKv(ITxnKv store, string rootPath, TimeProvider? timeProvider, EmbeddedMetaKvOptions? options, ILogger? logger, bool ownsStore)
    {
        options ??= new EmbeddedMetaKvOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.HistoryEvents, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.WatcherCapacity, nameof(options));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _ownsStore = ownsStore;
        _root = KvPaths.NormalizeRoot(rootPath);
        _dataPrefix = _root + "kv/";
        _revisionKey = _root + "meta/revision";
        _leaseKey = _root + "meta/lease";
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _hub = new EmbeddedWatchHub(options.HistoryEvents, options.WatcherCapacity);
        _expiryTimer = _time.CreateTimer(_ => _expirySignal.Writer.TryWrite(true), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Opens the meta store kept in <paramref name="store"/> under <paramref name="rootPath"/>: loads its
    /// revision and keys, and removes the keys that were bound to leases of a previous process.
    /// </summary>
    /// <param name="store">Where the data persists; use one root per meta store.</param>
    /// <param name="rootPath">The prefix of every key in <paramref name="store"/>.</param>
    /// <param name="timeProvider">The clock that leases expire by.</param>
    /// <param name="options">History and queue limits.</param>
    /// <param name="logger">Where lease expiries and failures are logged.</param>
    /// <param name="ownsStore">Whether disposing this store disposes <paramref name="store"/>.</param>
    /// <param name="cancellationToken">Cancels the opening.</param>
    public static async Task<EmbeddedMetaKv> OpenAsync(ITxnKv store, string rootPath, TimeProvider? timeProvider = null, EmbeddedMetaKvOptions? options = null,
        ILogger<EmbeddedMetaKv>? logger = null, bool ownsStore = true, CancellationToken cancellationToken = default)
    {
        var kv = new EmbeddedMetaKv(store, rootPath, timeProvider, options, logger, ownsStore);
        try
        {
            await kv.LoadStateAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await kv.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        kv._expiryLoop = kv.RunExpiryLoopAsync(kv._stopping.Token);
        return kv;
    }

    /// <summary>The current global revision.</summary>
    public long Revision => Interlocked.Read(ref _revision);

    public string GetPath(string key) => _root + key;

    public override async Task<string> LoadAsync(string key, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _entries.TryGetValue(key, out var entry) ? entry.Value : throw new KvKeyNotFoundException(key);
        }
        finally
        {
            _gate.Release();
        }
    }

    public override async Task<IReadOnlyList<string>> MultiLoadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        KvGuard.Keys(keys);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var missing = keys.Where(k => !_entries.ContainsKey(k)).ToList();
            return missing.Count > 0 ? throw new KvKeyNotFoundException(missing) : keys.Select(k => _entries[k].Value).ToList();
        }
        finally
        {
            _gate.Release();
        }
    }

    public override async Task<KvPairs> LoadWithPrefixAsync(string prefix, CancellationToken cancellationToken = default) =>
        (await LoadWithRevisionAsync(prefix, cancellationToken).ConfigureAwait(false)).Pairs;

    public async Task<KvVersionedPairs> LoadWithPrefix2Async(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var keys = KeysWithPrefix(prefix);
            return new KvVersionedPairs(keys, keys.Select(k => _entries[k].Value).ToList(), keys.Select(k => _entries[k].Version).ToList());
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<KvPairsAtRevision> LoadWithRevisionAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var keys = KeysWithPrefix(prefix);
            return new KvPairsAtRevision(new KvPairs(keys, keys.Select(k => _entries[k].Value).ToList()), _revision);
        }
        finally
        {
            _gate.Release();
        }
    }

    public override async Task MultiSaveAndRemoveAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removals, CancellationToken cancellationToken = default)
    {
        KvGuard.Disjoint(saves, removals);
        CheckValues(saves);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await CommitLockedAsync(removals, saves, 0).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public override async Task MultiSaveAndRemoveWithPrefixAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removalPrefixes, CancellationToken cancellationToken = default)
    {
        KvGuard.DisjointPrefixes(saves, removalPrefixes);
        CheckValues(saves);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await CommitLockedAsync(removalPrefixes.SelectMany(KeysWithPrefix).ToList(), saves, 0).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public IAsyncEnumerable<KvWatchResponse> WatchAsync(string key, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        return WatchCoreAsync(key, false, 0, cancellationToken);
    }

    public IAsyncEnumerable<KvWatchResponse> WatchWithPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return WatchCoreAsync(prefix, true, 0, cancellationToken);
    }

    public IAsyncEnumerable<KvWatchResponse> WatchWithRevisionAsync(string prefix, long revision, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(revision);
        return WatchCoreAsync(prefix, true, revision, cancellationToken);
    }

    /// <summary>Drops the watch history before <paramref name="revision"/>, as etcd's compaction does.</summary>
    public void Compact(long revision) => _hub.Compact(revision);

    public async Task<long> GrantAsync(long ttlSeconds, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ttlSeconds);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var id = _lastLeaseId + 1;
            await _store.SaveAsync(_leaseKey, id.ToString(CultureInfo.InvariantCulture), CancellationToken.None).ConfigureAwait(false);
            _lastLeaseId = id;
            _leases[id] = new LeaseState(ttlSeconds, _time.GetUtcNow() + TimeSpan.FromSeconds(ttlSeconds));
            ScheduleExpiryLocked();
            return id;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task SaveWithLeaseAsync(string key, string value, long leaseId, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(leaseId);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await CommitLockedAsync([], new Dictionary<string, string> { [key] = value }, leaseId).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async IAsyncEnumerable<KvLeaseKeepAlive> KeepAliveAsync(long leaseId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(leaseId);
        while (true)
        {
            var ttl = await RefreshAsync(leaseId, cancellationToken).ConfigureAwait(false);
            yield return new KvLeaseKeepAlive(leaseId, ttl);
            await Task.Delay(MetaKvLeases.KeepAliveInterval(ttl), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task RevokeAsync(long leaseId, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(leaseId);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_leases.TryGetValue(leaseId, out var lease))
            {
                await EndLeaseLockedAsync(leaseId, lease).ConfigureAwait(false);
                ScheduleExpiryLocked();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task<bool> CompareValueAndSwapAsync(string key, string expected, string target, long leaseId = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(expected);
        return CompareAndSwapAsync(key, entry => entry is not null && entry.Value == expected, target, leaseId, cancellationToken);
    }

    public Task<bool> CompareVersionAndSwapAsync(string key, long version, string target, long leaseId = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        return CompareAndSwapAsync(key, entry => (entry?.Version ?? 0) == version, target, leaseId, cancellationToken);
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _expiryLoop.ConfigureAwait(false);
        _closed = true;
        await _expiryTimer.DisposeAsync().ConfigureAwait(false);
        _hub.Close(new KvUnavailableException(Backend, "the store was closed"));
        if (_ownsStore)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }
        _stopping.Dispose();
    }

    private async Task<bool> CompareAndSwapAsync(string key, Func<Entry?, bool> compare, string target, long leaseId, CancellationToken cancellationToken)
    {
        KvGuard.Key(key);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentOutOfRangeException.ThrowIfNegative(leaseId);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!compare(_entries.GetValueOrDefault(key)))
            {
                return false;
            }
            await CommitLockedAsync([], new Dictionary<string, string> { [key] = target }, leaseId).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<long> RefreshAsync(long leaseId, CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_leases.TryGetValue(leaseId, out var lease))
            {
                Log.LeaseLost(_logger, leaseId);
                throw new KvLeaseNotFoundException(leaseId);
            }
            lease.Deadline = _time.GetUtcNow() + TimeSpan.FromSeconds(lease.TtlSeconds);
            ScheduleExpiryLocked();
            return lease.TtlSeconds;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async IAsyncEnumerable<KvWatchResponse> WatchCoreAsync(string key, bool isPrefix, long revision, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        var (watcher, replay) = _hub.Subscribe(key, isPrefix, revision);
        try
        {
            foreach (var response in replay)
            {
                yield return response;
            }
            await foreach (var response in watcher.Channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return response;
            }
        }
        finally
        {
            _hub.Unsubscribe(watcher);
        }
    }

    /// <summary>Takes the lock and brings the leases up to the current time.</summary>
    private async Task EnterAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            await ExpireDueLeasesLockedAsync().ConfigureAwait(false);
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    /// <summary>
    /// Applies removals and saves as one revision: first to the underlying store in one atomic batch with the new
    /// revision, then to the mirror and the leases, then to the watchers. A step that changes nothing writes nothing.
    /// </summary>
    private async Task CommitLockedAsync(IEnumerable<string> removals, IReadOnlyDictionary<string, string> saves, long leaseId)
    {
        if (leaseId != 0 && !_leases.ContainsKey(leaseId))
        {
            throw new KvLeaseNotFoundException(leaseId);
        }
        var revision = _revision + 1;
        var events = new List<KvEvent>();
        var changes = new List<(string Key, Entry? Old, Entry? New)>();
        var stored = new Dictionary<string, string>(StringComparer.Ordinal);
        var removed = new List<string>();
        foreach (var key in removals.Distinct(StringComparer.Ordinal))
        {
            if (_entries.TryGetValue(key, out var old))
            {
                events.Add(new KvEvent(KvEventType.Delete, key, "", 0, revision, 0, old.Value));
                changes.Add((key, old, null));
                removed.Add(_dataPrefix + key);
            }
        }
        foreach (var (key, value) in saves)
        {
            var old = _entries.GetValueOrDefault(key);
            var entry = new Entry(value, old?.CreateRevision ?? revision, revision, (old?.Version ?? 0) + 1, leaseId);
            events.Add(new KvEvent(KvEventType.Put, key, value, entry.CreateRevision, revision, entry.Version, old?.Value));
            changes.Add((key, old, entry));
            stored[_dataPrefix + key] = entry.Encode();
        }
        if (events.Count == 0)
        {
            return;
        }
        stored[_revisionKey] = revision.ToString(CultureInfo.InvariantCulture);
        // Not cancellable: once the batch is written the mirror must follow it.
        await _store.MultiSaveAndRemoveAsync(stored, removed, CancellationToken.None).ConfigureAwait(false);
        Interlocked.Exchange(ref _revision, revision);
        foreach (var (key, old, entry) in changes)
        {
            if (old is { Lease: not 0 } && _leases.TryGetValue(old.Lease, out var oldLease))
            {
                oldLease.Keys.Remove(key);
            }
            if (entry is null)
            {
                _entries.Remove(key);
                _keys.Remove(key);
                continue;
            }
            _entries[key] = entry;
            _keys.Add(key);
            if (entry.Lease != 0)
            {
                _leases[entry.Lease].Keys.Add(key);
            }
        }
        _hub.Publish(new KvWatchResponse(revision, events));
    }

    private async Task ExpireDueLeasesLockedAsync()
    {
        var now = _time.GetUtcNow();
        var due = _leases.Where(l => l.Value.Deadline <= now).OrderBy(l => l.Value.Deadline).ToList();
        foreach (var (id, lease) in due)
        {
            Log.LeaseExpired(_logger, id, lease.Keys.Count);
            await EndLeaseLockedAsync(id, lease).ConfigureAwait(false);
        }
        if (due.Count > 0)
        {
            ScheduleExpiryLocked();
        }
    }

    private async Task EndLeaseLockedAsync(long id, LeaseState lease)
    {
        await CommitLockedAsync(lease.Keys.ToList(), new Dictionary<string, string>(), 0).ConfigureAwait(false);
        _leases.Remove(id);
    }

    /// <summary>Sets the timer to the earliest lease deadline.</summary>
    private void ScheduleExpiryLocked()
    {
        if (_leases.Count == 0)
        {
            _expiryTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var due = _leases.Values.Min(l => l.Deadline) - _time.GetUtcNow();
        _expiryTimer.Change(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
    }

    private async Task RunExpiryLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var _ in _expirySignal.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await EnterAsync(stoppingToken).ConfigureAwait(false);
                    _gate.Release();
                }
                catch (KvException e)
                {
                    // The next operation expires the leases again; the loop must outlive a store failure.
                    Log.ExpiryFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Closing.
        }
    }

    private async Task LoadStateAsync(CancellationToken cancellationToken)
    {
        _revision = await LoadCounterAsync(_revisionKey, 1, cancellationToken).ConfigureAwait(false);
        _lastLeaseId = await LoadCounterAsync(_leaseKey, 0, cancellationToken).ConfigureAwait(false);
        var records = await _store.LoadWithPrefixAsync(_dataPrefix, cancellationToken).ConfigureAwait(false);
        var orphans = new List<string>();
        for (var i = 0; i < records.Count; i++)
        {
            var key = records.Keys[i][_dataPrefix.Length..];
            var entry = Entry.Decode(records.Values[i], key);
            if (entry.Lease != 0)
            {
                orphans.Add(records.Keys[i]);
                continue;
            }
            _entries[key] = entry;
            _keys.Add(key);
        }
        if (orphans.Count > 0)
        {
            var revision = _revision + 1;
            await _store.MultiSaveAndRemoveAsync(new Dictionary<string, string> { [_revisionKey] = revision.ToString(CultureInfo.InvariantCulture) }, orphans, cancellationToken).ConfigureAwait(false);
            _revision = revision;
            Log.OrphansRemoved(_logger, orphans.Count, revision);
        }
        _hub.Reset(_revision);
    }

    private async Task<long> LoadCounterAsync(string key, long initial, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await _store.LoadAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (KvKeyNotFoundException)
        {
            return initial;
        }
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new KvException($"The embedded meta store's counter '{key}' holds '{text}', which is not a number.");
    }

    private List<string> KeysWithPrefix(string prefix)
    {
        if (prefix.Length == 0)
        {
            return [.. _keys];
        }
        var last = prefix[^1];
        IEnumerable<string> candidates = last == char.MaxValue
            ? _keys.Where(k => string.CompareOrdinal(k, prefix) >= 0)
            : _keys.GetViewBetween(prefix, prefix[..^1] + (char)(last + 1));
        return candidates.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList();
    }

    private static void CheckValues(IReadOnlyDictionary<string, string> saves)
    {
        foreach (var (key, value) in saves)
        {
            if (value is null)
            {
                throw new ArgumentException($"The value of '{key}' is null.", nameof(saves));
            }
        }
    }

    private sealed class LeaseState(long ttlSeconds, DateTimeOffset deadline)
    {
        public long TtlSeconds { get; } = ttlSeconds;

        public DateTimeOffset Deadline { get; set; } = deadline;

        public HashSet<string> Keys { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>One key's state; stored as <c>create,mod,version,lease;value</c>.</summary>
    private sealed record Entry(string Value, long CreateRevision, long ModRevision, long Version, long Lease)
    {
        public string Encode() => string.Create(CultureInfo.InvariantCulture, $"{CreateRevision},{ModRevision},{Version},{Lease};{Value}");

        public static Entry Decode(string record, string key)
        {
            var separator = record.IndexOf(';', StringComparison.Ordinal);
            var header = separator < 0 ? [] : record[..separator].Split(',');
            if (header.Length != 4 || !header.All(h => long.TryParse(h, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
            {
                throw new KvException($"The embedded meta store's record of '{key}' is damaged.");
            }
            var numbers = header.Select(h => long.Parse(h, CultureInfo.InvariantCulture)).ToArray();
            return new Entry(record[(separator + 1)..], numbers[0], numbers[1], numbers[2], numbers[3]);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Lease {LeaseId} expired, removing {KeyCount} keys")]
        public static partial void LeaseExpired(ILogger logger, long leaseId, int keyCount);

        [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Lease {LeaseId} is gone")]
        public static partial void LeaseLost(ILogger logger, long leaseId);

        [LoggerMessage(EventId = 3203, Level = LogLevel.Error, Message = "Expiring leases failed; the next operation retries")]
        public static partial void ExpiryFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 3204, Level = LogLevel.Information, Message = "Removed {Count} keys bound to the leases of a previous process, at revision {Revision}")]
        public static partial void OrphansRemoved(ILogger logger, int count, long revision);
    }
}
