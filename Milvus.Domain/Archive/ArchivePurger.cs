using Microsoft.Extensions.Logging;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;

namespace Milvus.Domain.Archive;

/// <summary>
/// Deletes the archives of destroyed channels (<see cref="SegmentCatalog.PurgeChannelAsync"/>: segment metadata and
/// checkpoint first, with a purge marker, then the objects) and keeps the book of the purges that failed: such a
/// channel's purge is pending, every later sync retries it, and it gets no new graph until it is done. It also
/// finishes the purges that a crash or a store outage interrupted, and its sweep (the <c>archive-purge</c> job) purges
/// the archives of channels that no longer exist. It never runs alone: the <see cref="ArchiveSupervisor"/> calls it
/// under its gate, once the channel's graph is stopped, so no segment is written after a purge.
/// </summary>
public sealed partial class ArchivePurger(SegmentCatalog catalog, IMqClient mq, ILogger<ArchivePurger> logger)
{
    /// <summary>The destroyed channels whose archive is not purged yet, with why.</summary>
    private readonly Dictionary<string, string> _pending = new(StringComparer.Ordinal);

    /// <summary>The destroyed channels whose archive is not purged yet, in no order.</summary>
    internal IReadOnlyList<string> PendingChannels
    {
        get
        {
            lock (_pending)
            {
                return [.. _pending.Keys];
            }
        }
    }

    /// <summary>Whether the archive of the destroyed channel <paramref name="channel"/> is not purged yet.</summary>
    internal bool IsPending(string channel)
    {
        lock (_pending)
        {
            return _pending.ContainsKey(channel);
        }
    }

    /// <summary>Why the archive of the destroyed channel <paramref name="channel"/> is not purged yet, or null when it is not pending.</summary>
    internal string? PendingError(string channel)
    {
        lock (_pending)
        {
            return _pending.GetValueOrDefault(channel);
        }
    }

    /// <summary>Drops a pending purge from the book: the channel exists again and another gateway archives it.</summary>
    internal void Forget(string channel)
    {
        lock (_pending)
        {
            _pending.Remove(channel);
        }
    }

    /// <summary>
    /// Finishes the purges that were interrupted; returns the channels whose purge is still unfinished, or null when
    /// the meta store does not answer at all (then no graph can start anyway).
    /// </summary>
    internal async Task<IReadOnlySet<string>?> ResumeInterruptedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await catalog.ResumePurgesAsync(cancellationToken).ConfigureAwait(false);
            return new HashSet<string>(StringComparer.Ordinal);
        }
        catch (KvException ex)
        {
            Log.PurgeFailed(logger, "(interrupted purges)", ex);
            try
            {
                return (await catalog.ListPendingPurgesAsync(cancellationToken).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
            }
            catch (KvException)
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Purges a destroyed channel's archive (its graph is stopped); returns false, keeping the purge pending to retry,
    /// when a store fails.
    /// </summary>
    internal async Task<bool> TryPurgeAsync(string channel, CancellationToken cancellationToken)
    {
        try
        {
            await catalog.PurgeChannelAsync(channel, cancellationToken).ConfigureAwait(false);
            Forget(channel);
            Log.Purged(logger, channel);
            return true;
        }
        catch (KvException ex)
        {
            lock (_pending)
            {
                _pending[channel] = $"The archive of the destroyed channel could not be deleted yet: {ex.Message}";
            }
            Log.PurgeFailed(logger, channel, ex);
            return false;
        }
    }

    /// <summary>
    /// Purges the archives of the just destroyed <paramref name="channels"/> (their graphs are stopped), one after the
    /// other, and calls <paramref name="settled"/> after each purge, done or left pending.
    /// </summary>
    /// <exception cref="KvUnavailableException">A purge failed; it stays pending, and the channels after it are not tried.</exception>
    internal async Task PurgeDestroyedAsync(IReadOnlyCollection<string> channels, Action<string> settled, CancellationToken cancellationToken)
    {
        foreach (var channel in channels.Distinct(StringComparer.Ordinal))
        {
            var purged = await TryPurgeAsync(channel, cancellationToken).ConfigureAwait(false);
            settled(channel);
            if (!purged)
            {
                throw new KvUnavailableException("archive", $"The channels were destroyed, but the archived segments of '{channel}' could not be deleted yet; the archiver retries.");
            }
        }
    }

    /// <summary>
    /// The purge job's work: finishes interrupted purges, and purges the archives of channels that no longer exist
    /// (destroyed while no graph of this gateway ran, for example with archiving off), each after
    /// <paramref name="stop"/> has stopped its graph and before <paramref name="purged"/> is told. Returns the
    /// channels purged.
    /// </summary>
    internal async Task<IReadOnlyList<string>> SweepAsync(Func<string, Task> stop, Action<string> purged, CancellationToken cancellationToken)
    {
        var resumed = await catalog.ResumePurgesAsync(cancellationToken).ConfigureAwait(false);
        var channels = (await mq.ListChannelsAsync(cancellationToken).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
        var orphaned = (await catalog.ListArchivedChannelsAsync(cancellationToken).ConfigureAwait(false)).Where(c => !channels.Contains(c)).ToList();
        foreach (var channel in orphaned)
        {
            await stop(channel).ConfigureAwait(false);
            await catalog.PurgeChannelAsync(channel, cancellationToken).ConfigureAwait(false);
            Forget(channel);
            purged(channel);
        }
        return [.. resumed.Union(orphaned, StringComparer.Ordinal)];
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 8005, Level = LogLevel.Information, Message = "Deleted the archived segments of the destroyed channel {Channel}.")]
        public static partial void Purged(ILogger logger, string channel);

        [LoggerMessage(EventId = 8006, Level = LogLevel.Warning, Message = "The archived segments of the destroyed channel {Channel} could not be deleted yet; the next sync retries.")]
        public static partial void PurgeFailed(ILogger logger, string channel, Exception exception);
    }
}
