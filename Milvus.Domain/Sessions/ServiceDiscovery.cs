using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Milvus.Domain.Kv;

namespace Milvus.Domain.Sessions;

/// <summary>
/// Finds the registered services (seed A.2, "Discovery"): lists the registrations under a name prefix with the
/// revision they were read at, and follows their changes from a revision without a gap. A value that is not a
/// registration is skipped with a log line.
/// </summary>
public sealed partial class ServiceDiscovery(IMetaKv kv, ILogger<ServiceDiscovery>? logger = null)
{
    /// <summary>The key <see cref="WatchServicesAsync"/> writes to check that a past revision is still in the history.</summary>
    public const string HistoryProbeKey = "session-history-probe";

    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>The registrations whose key starts with <paramref name="prefix"/> (after <c>session/</c>), in key order.</summary>
    /// <exception cref="KvUnavailableException">The meta KV does not answer.</exception>
    public async Task<SessionList> GetSessionsAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var listing = await kv.LoadWithRevisionAsync(SessionCodec.ServiceRoot + prefix, cancellationToken).ConfigureAwait(false);
        return new SessionList(Decode(listing.Pairs).Values.ToList(), listing.Revision);
    }

    /// <summary>
    /// The registration changes under <paramref name="prefix"/> made at <paramref name="revision"/> or later
    /// (pass the revision of <see cref="GetSessionsAsync"/> + 1 to miss nothing after a listing), or, when
    /// <paramref name="revision"/> is 0, the changes from now on. A put of a new key is Add, a put of an existing
    /// key is Update, a removal or an expired lease is Del. When the history is compacted under the watch, it
    /// lists again, reports the difference as events, and watches again from there. The stream ends only when
    /// cancelled, or with <see cref="KvUnavailableException"/> when the meta KV goes away.
    /// </summary>
    /// <remarks>
    /// The current registrations are read, and a <paramref name="revision"/> in the past is checked against the
    /// store's history, before this returns: an unreachable store fails the call itself, and so does a revision
    /// that is compacted away (<see cref="SessionWatchCompactedException"/>), before any event.
    /// </remarks>
    /// <exception cref="SessionWatchCompactedException">The history no longer reaches back to <paramref name="revision"/>.</exception>
    public async Task<IAsyncEnumerable<SessionEvent>> WatchServicesAsync(string prefix, long revision, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfNegative(revision);
        var full = SessionCodec.ServiceRoot + prefix;
        var listing = await kv.LoadWithRevisionAsync(full, cancellationToken).ConfigureAwait(false);
        if (revision > 0 && revision <= listing.Revision)
        {
            await EnsureHistoryFromAsync(revision, listing.Revision, cancellationToken).ConfigureAwait(false);
        }
        return FollowAsync(full, Decode(listing.Pairs), listing.Revision, revision > 0 ? revision : listing.Revision + 1, cancellationToken);
    }

    /// <summary>
    /// Fails with <see cref="SessionWatchCompactedException"/> when the store's history no longer reaches back to
    /// <paramref name="revision"/>. A watch reports a compaction only once it has caught up with the history, which
    /// it never signals when no key of its range changed since; so this writes a probe key (outside every session
    /// prefix) and watches that key from <paramref name="revision"/>: the replay of the write proves the history
    /// is there, and a compaction fails the watch instead.
    /// </summary>
    private async Task EnsureHistoryFromAsync(long revision, long currentRevision, CancellationToken cancellationToken)
    {
        await kv.SaveAsync(HistoryProbeKey, revision.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        await using var probe = kv.WatchWithRevisionAsync(HistoryProbeKey, revision, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            await probe.MoveNextAsync().ConfigureAwait(false);
        }
        catch (KvWatchCompactedException e)
        {
            throw new SessionWatchCompactedException(revision, e.CompactRevision, currentRevision);
        }
    }

    private async IAsyncEnumerable<SessionEvent> FollowAsync(string full, SortedDictionary<string, SessionInfo> known, long listedAt, long from,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Known is the state at the listing; replaying the events from 'from' on top of it leaves it exact once
        // the replay has passed the listing, because each key's last event decides its state. From then on a
        // relisting is compared with it. A compaction before that point loses events that nothing can rebuild,
        // so the caller is told to list again, as etcd would tell it.
        while (true)
        {
            var relisted = (KvPairsAtRevision?)null;
            await using (var watch = kv.WatchWithRevisionAsync(full, from, cancellationToken).GetAsyncEnumerator(cancellationToken))
            {
                while (true)
                {
                    try
                    {
                        if (!await watch.MoveNextAsync().ConfigureAwait(false))
                        {
                            yield break;
                        }
                    }
                    catch (KvWatchCompactedException e) when (from > listedAt)
                    {
                        Log.Relisting(_logger, full, e.CompactRevision);
                        relisted = await kv.LoadWithRevisionAsync(full, cancellationToken).ConfigureAwait(false);
                        break;
                    }
                    foreach (var change in watch.Current.Events)
                    {
                        if (Apply(known, change) is { } e)
                        {
                            yield return e;
                        }
                    }
                    from = watch.Current.Revision + 1;
                }
            }
            var now = Decode(relisted!.Pairs);
            foreach (var e in Difference(known, now))
            {
                yield return e;
            }
            known = now;
            from = relisted.Revision + 1;
        }
    }

    /// <summary>Applies one KV change to <paramref name="known"/> and returns the session event it makes, if any.</summary>
    private SessionEvent? Apply(SortedDictionary<string, SessionInfo> known, KvEvent change)
    {
        if (change.Key == SessionCodec.IdKey)
        {
            return null;
        }
        if (change.Type == KvEventType.Delete)
        {
            known.Remove(change.Key, out var gone);
            gone ??= change.PreviousValue is { } previous ? SessionCodec.TryDecode(change.Key, previous) : null;
            return gone is null ? null : new SessionEvent(SessionEventType.Del, gone);
        }
        if (SessionCodec.TryDecode(change.Key, change.Value) is not { } info)
        {
            Log.Malformed(_logger, change.Key);
            known.Remove(change.Key);
            return null;
        }
        known[change.Key] = info;
        return new SessionEvent(change.Version == 1 ? SessionEventType.Add : SessionEventType.Update, info);
    }

    private static IEnumerable<SessionEvent> Difference(SortedDictionary<string, SessionInfo> before, SortedDictionary<string, SessionInfo> after)
    {
        foreach (var (key, info) in before)
        {
            if (!after.ContainsKey(key))
            {
                yield return new SessionEvent(SessionEventType.Del, info);
            }
        }
        foreach (var (key, info) in after)
        {
            if (!before.TryGetValue(key, out var old))
            {
                yield return new SessionEvent(SessionEventType.Add, info);
            }
            else if (old != info)
            {
                yield return new SessionEvent(SessionEventType.Update, info);
            }
        }
    }

    /// <summary>The registrations among <paramref name="pairs"/>, by full key; the id counter and malformed values are left out.</summary>
    private SortedDictionary<string, SessionInfo> Decode(KvPairs pairs)
    {
        var sessions = new SortedDictionary<string, SessionInfo>(StringComparer.Ordinal);
        for (var i = 0; i < pairs.Count; i++)
        {
            var key = pairs.Keys[i];
            if (key == SessionCodec.IdKey)
            {
                continue;
            }
            if (SessionCodec.TryDecode(key, pairs.Values[i]) is { } info)
            {
                sessions[key] = info;
            }
            else
            {
                Log.Malformed(_logger, key);
            }
        }
        return sessions;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7601, Level = LogLevel.Warning, Message = "Skipping the value under {Key}: it is not a session registration.")]
        public static partial void Malformed(ILogger logger, string key);

        [LoggerMessage(EventId = 7602, Level = LogLevel.Information, Message = "The session watch on {Prefix} was compacted at revision {CompactRevision}; listing again.")]
        public static partial void Relisting(ILogger logger, string prefix, long compactRevision);
    }
}
