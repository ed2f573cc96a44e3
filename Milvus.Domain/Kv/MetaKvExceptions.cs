namespace Milvus.Domain.Kv;

/// <summary>
/// A watch cannot deliver every change the caller asked for: the history was compacted past the requested
/// revision, or the watcher fell too far behind. List again (<see cref="IMetaKv.LoadWithRevisionAsync"/>) and
/// watch again from the listing's revision + 1.
/// </summary>
public sealed class KvWatchCompactedException(long compactRevision, string reason)
    : KvException($"The watch lost events ({reason}); the oldest revision still available is {compactRevision}. List again and watch again.")
{
    /// <summary>The oldest revision a new watch can start from.</summary>
    public long CompactRevision { get; } = compactRevision;

    public override ErrorKind Kind => ErrorKind.Conflict;
}

/// <summary>A lease has expired, was revoked, or never existed.</summary>
public sealed class KvLeaseNotFoundException(long leaseId)
    : KvException($"The lease {leaseId} does not exist: it has expired or was revoked.")
{
    /// <summary>The lease's id.</summary>
    public long LeaseId { get; } = leaseId;

    public override ErrorKind Kind => ErrorKind.NotFound;
}
