namespace Milvus.Domain.Sessions;

/// <summary>A registration could not be made: its key is taken, or the id counter holds something else than a number.</summary>
internal sealed class SessionConflictException(string message) : Exception(message), IMilvusError
{
    public ErrorKind Kind => ErrorKind.Conflict;
}

/// <summary>
/// A watch asked for the changes from a revision that the meta KV has compacted away, so some of them are lost:
/// the caller lists again and watches from the revision of that listing.
/// </summary>
public sealed class SessionWatchCompactedException(long revision, long compactRevision, long currentRevision)
    : Exception($"The changes from revision {revision} on are no longer available: the meta KV has compacted its history up to revision {compactRevision}, and the current revision is {currentRevision}. List the sessions again and watch from the revision of that listing."),
        IMilvusError
{
    /// <summary>The revision the watch was to start from.</summary>
    public long Revision { get; } = revision;

    /// <summary>The oldest revision a watch can start from now.</summary>
    public long CompactRevision { get; } = compactRevision;

    /// <summary>The store's revision when the watch was refused.</summary>
    public long CurrentRevision { get; } = currentRevision;

    public ErrorKind Kind => ErrorKind.Conflict;
}
