using RocksDbSharp;

namespace Milvus.Domain.Mq.RocksMq;

/// <summary>RocksMQ's retention: deleting what every group has read once it is old or over the size, then compacting.</summary>
public sealed partial class RocksMq
{
    /// <summary>
    /// One retention pass: on every channel, deletes the acknowledged pages (every group has consumed past them)
    /// that are older than the retention time, and the oldest acknowledged pages while the acknowledged total is
    /// over the retention size; then compacts the deleted ranges (and destroyed channels) to give the disk back.
    /// A page that some group has not consumed, or on a channel without groups, is never deleted. Public so that
    /// a hosted worker or a recurring job can run it.
    /// </summary>
    public async Task<RocksMqRetentionResult> RunRetentionAsync(CancellationToken cancellationToken = default)
    {
        var result = new RocksMqRetentionResult();
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var channel in _channels.Values)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var lease = database.Acquire();
            result = result.Add(Trim(channel, nowMs));
            result = result with { ExpiredKeys = result.ExpiredKeys + await PurgeExpiredKeysAsync(channel, nowMs, cancellationToken).ConfigureAwait(false) };
        }
        if (!_pendingCompactions.IsEmpty)
        {
            // Flush first: the logs go once every family is on file, and compaction then drops the deleted files.
            using var lease = database.Acquire();
            try
            {
                database.FlushAll();
                while (_pendingCompactions.TryDequeue(out var range))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    database.Db.CompactRange(range.Start, range.End, database.Data);
                    result = result with { CompactedRanges = result.CompactedRanges + 1 };
                }
            }
            catch (RocksDbException ex)
            {
                throw database.Fail(ex, "compact deleted messages");
            }
        }
        if (result.Pages > 0)
        {
            RocksMqMetrics.RetentionDeleted(result.Bytes);
            Log.RetentionDeleted(logger, result.Pages, result.Messages, result.Bytes);
        }
        return result;
    }

    /// <summary>
    /// Deletes the channel's idempotency keys that expired, under its produce gate, so that a produce that stores a
    /// key again at the same moment is not undone. The caller holds a lease.
    /// </summary>
    private async Task<int> PurgeExpiredKeysAsync(RocksMqChannel channel, long nowMs, CancellationToken cancellationToken)
    {
        await channel.ProduceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (channel.Destroyed)
            {
                return 0;
            }
            using var batch = new WriteBatch();
            var expired = 0;
            using (var it = database.Db.NewIterator(database.Keys, channel.KeysReadOptions))
            {
                for (it.Seek(channel.DataPrefix); it.Valid(); it.Next())
                {
                    if (RocksMqKeyRecord.ExpiresAt(it.GetValueSpan()) <= nowMs)
                    {
                        batch.Delete(it.Key(), database.Keys);
                        expired++;
                    }
                }
            }
            if (expired > 0)
            {
                Write(batch, "delete expired idempotency keys");
            }
            return expired;
        }
        catch (RocksDbException ex)
        {
            throw database.Fail(ex, "read idempotency keys");
        }
        finally
        {
            channel.ProduceGate.Release();
        }
    }

    private RocksMqRetentionResult Trim(RocksMqChannel channel, long nowMs)
    {
        lock (channel.Gate)
        {
            if (channel.Destroyed || channel.Pages.Count == 0 || channel.Groups.Count == 0)
            {
                return new RocksMqRetentionResult();
            }
            var groups = channel.GroupsInOrder();
            var held = new List<Lock>(groups.Count);
            try
            {
                foreach (var group in groups)
                {
                    group.Gate.Enter();
                    held.Add(group.Gate);
                }
                var consumedBelow = groups.Min(g => g.Position);
                var pages = channel.Pages;
                var acked = 0;
                var ackedBytes = 0L;
                while (acked < pages.Count && pages[acked].LastId < consumedBelow)
                {
                    ackedBytes += pages[acked].Bytes;
                    acked++;
                }
                var delete = 0;
                if (_options.RetentionTimeInMinutes >= 0)
                {
                    var maxAgeMs = _options.RetentionTimeInMinutes * 60_000;
                    while (delete < acked && nowMs - pages[delete].ClosedAtMs >= maxAgeMs)
                    {
                        delete++;
                    }
                }
                if (_options.RetentionSizeInMB >= 0)
                {
                    var limit = _options.RetentionSizeInMB * 1024 * 1024;
                    var bySize = 0;
                    for (var kept = ackedBytes; bySize < acked && kept > limit; bySize++)
                    {
                        kept -= pages[bySize].Bytes;
                    }
                    delete = Math.Max(delete, bySize);
                }
                if (delete == 0)
                {
                    return new RocksMqRetentionResult();
                }
                var newBegin = pages[delete - 1].LastId + 1;
                var start = RocksMqKeys.DataKey(channel.DataPrefix, channel.BeginId);
                var end = RocksMqKeys.DataKey(channel.DataPrefix, newBegin);
                using var batch = new WriteBatch()
                    .DeleteRange(start, (ulong)start.Length, end, (ulong)end.Length, database.Data)
                    .Put(RocksMqKeys.BeginIdKey(channel.Name), RocksMqKeys.Int64(newBegin), database.Meta);
                var removed = pages.Take(delete).ToList();
                foreach (var page in removed)
                {
                    batch.Delete(RocksMqKeys.PageKey(channel.Name, page.LastId), database.Meta);
                }
                Write(batch, "delete retained pages");
                pages.RemoveRange(0, delete);
                channel.BeginId = newBegin;
                _pendingCompactions.Enqueue((start, end));
                return new RocksMqRetentionResult(delete, removed.Sum(p => p.Count), removed.Sum(p => p.Bytes), 0);
            }
            finally
            {
                ExitAll(held);
            }
        }
    }
}

/// <summary>What one retention pass did.</summary>
public sealed record RocksMqRetentionResult(int Pages = 0, long Messages = 0, long Bytes = 0, int CompactedRanges = 0, int ExpiredKeys = 0)
{
    internal RocksMqRetentionResult Add(RocksMqRetentionResult other) =>
        new(Pages + other.Pages, Messages + other.Messages, Bytes + other.Bytes, CompactedRanges + other.CompactedRanges, ExpiredKeys + other.ExpiredKeys);
}
