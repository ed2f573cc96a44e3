namespace Milvus.Domain.Kv;

/// <summary>
/// The meta-data store with etcd's features (seed A.7.3): a global revision that grows on every write, per-key
/// versions, watches from a revision, leases with keep-alive, and compare-and-swap. It is real on etcd and
/// emulated with the same semantics in-process. Keys are relative to the root path, as on <see cref="IBaseKv"/>.
/// </summary>
/// <remarks>
/// To follow a prefix without missing a change: <see cref="LoadWithRevisionAsync"/> returns the revision R the
/// listing was read at; <c>WatchWithRevision(prefix, R + 1)</c> then streams exactly the later changes. When a
/// watch throws <see cref="KvWatchCompactedException"/>, list again and watch again from the new revision.
/// </remarks>
public interface IMetaKv : ITxnKv
{
    /// <summary>The full path of <paramref name="key"/> in the store: the root path followed by the key.</summary>
    string GetPath(string key);

    /// <summary>Every pair under <paramref name="prefix"/>, in key order, with each key's version.</summary>
    Task<KvVersionedPairs> LoadWithPrefix2Async(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Every pair under <paramref name="prefix"/>, in key order, with the store revision they were read at.</summary>
    Task<KvPairsAtRevision> LoadWithRevisionAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>
    /// The changes of <paramref name="key"/> from the moment the enumeration starts, until it is cancelled.
    /// </summary>
    /// <exception cref="KvUnavailableException">The backend became unreachable; watch again when it returns.</exception>
    IAsyncEnumerable<KvWatchResponse> WatchAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// The changes of every key under <paramref name="prefix"/> from the moment the enumeration starts, until it
    /// is cancelled.
    /// </summary>
    IAsyncEnumerable<KvWatchResponse> WatchWithPrefixAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>
    /// The changes of every key under <paramref name="prefix"/> made at <paramref name="revision"/> or later
    /// (inclusive, as in etcd): past ones are replayed first, then live ones follow, with no gap.
    /// </summary>
    /// <exception cref="KvWatchCompactedException">
    /// The history no longer reaches back to <paramref name="revision"/>, or the watcher fell behind.
    /// </exception>
    IAsyncEnumerable<KvWatchResponse> WatchWithRevisionAsync(string prefix, long revision, CancellationToken cancellationToken = default);

    /// <summary>Creates a lease of <paramref name="ttlSeconds"/> (etcd may round it up) and returns its id.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The TTL is not positive.</exception>
    Task<long> GrantAsync(long ttlSeconds, CancellationToken cancellationToken = default);

    /// <summary>Sets <paramref name="key"/> bound to lease <paramref name="leaseId"/>: the key goes when the lease does.</summary>
    /// <exception cref="KvLeaseNotFoundException">The lease has expired or never existed.</exception>
    Task SaveWithLeaseAsync(string key, string value, long leaseId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Keeps lease <paramref name="leaseId"/> alive while the caller enumerates: one refresh at once, then one
    /// every third of the TTL, each yielding the TTL it was renewed to. Stop enumerating to stop refreshing.
    /// The enumeration never ends by itself: it throws as soon as the lease cannot be kept.
    /// </summary>
    /// <exception cref="KvLeaseNotFoundException">The lease has expired or was revoked.</exception>
    /// <exception cref="KvUnavailableException">The backend did not answer a refresh in time.</exception>
    IAsyncEnumerable<KvLeaseKeepAlive> KeepAliveAsync(long leaseId, CancellationToken cancellationToken = default);

    /// <summary>Ends lease <paramref name="leaseId"/> now and removes its keys. Revoking a lease that is gone succeeds.</summary>
    Task RevokeAsync(long leaseId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets <paramref name="key"/> to <paramref name="target"/> if its value is <paramref name="expected"/>, in one
    /// atomic step, bound to lease <paramref name="leaseId"/> unless it is 0. A missing key never matches. Returns
    /// false, changing nothing, when the compare fails.
    /// </summary>
    /// <exception cref="KvLeaseNotFoundException">The compare succeeded but the lease is gone.</exception>
    Task<bool> CompareValueAndSwapAsync(string key, string expected, string target, long leaseId = 0, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets <paramref name="key"/> to <paramref name="target"/> if its version is <paramref name="version"/>, in one
    /// atomic step, bound to lease <paramref name="leaseId"/> unless it is 0. Version 0 means "the key does not
    /// exist", which makes this a put-if-absent. Returns false, changing nothing, when the compare fails.
    /// </summary>
    /// <exception cref="KvLeaseNotFoundException">The compare succeeded but the lease is gone.</exception>
    Task<bool> CompareVersionAndSwapAsync(string key, long version, string target, long leaseId = 0, CancellationToken cancellationToken = default);
}

/// <summary>Keys with their values and versions (the number of writes since each key was created), in key order.</summary>
public sealed record KvVersionedPairs(IReadOnlyList<string> Keys, IReadOnlyList<string> Values, IReadOnlyList<long> Versions)
{
    public int Count => Keys.Count;
}

/// <summary>Pairs and the store revision they were read at.</summary>
public sealed record KvPairsAtRevision(KvPairs Pairs, long Revision);

/// <summary>What happened to a key.</summary>
public enum KvEventType
{
    /// <summary>The key was created or changed.</summary>
    Put,

    /// <summary>The key was removed, by a caller or by the end of its lease.</summary>
    Delete,
}

/// <summary>One change of one key.</summary>
/// <param name="Type">Whether the key was put or deleted.</param>
/// <param name="Key">The key, relative to the root path.</param>
/// <param name="Value">The new value; empty for a delete.</param>
/// <param name="CreateRevision">The revision the key was created at; 0 for a delete.</param>
/// <param name="ModRevision">The revision of this change.</param>
/// <param name="Version">The key's version after this change; 0 for a delete.</param>
/// <param name="PreviousValue">The value before this change, when known (always known for a delete).</param>
public sealed record KvEvent(KvEventType Type, string Key, string Value, long CreateRevision, long ModRevision, long Version, string? PreviousValue);

/// <summary>The events of one watch response, all from revisions ≤ <paramref name="Revision"/>.</summary>
public sealed record KvWatchResponse(long Revision, IReadOnlyList<KvEvent> Events);

/// <summary>A lease refresh: the lease lives <paramref name="TtlSeconds"/> from now.</summary>
public sealed record KvLeaseKeepAlive(long LeaseId, long TtlSeconds);
