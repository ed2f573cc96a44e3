
namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>The sweeper: ends the subscriptions, held here or only kept in the meta KV, that no call has used for the idle time.</summary>
public sealed partial class StreamSubscriptions
{
    /// <summary>
    /// Ends every subscription unused for longer than the idle timeout and not in a call, and every kept one that no
    /// gateway has saved for as long; returns how many.
    /// </summary>
    public async Task<int> ExpireIdleAsync(CancellationToken cancellationToken = default)
    {
        var idle = TimeSpan.FromSeconds(options.Value.SubscriptionIdleSeconds);
        var now = time.GetTimestamp();
        var expired = 0;
        foreach (var subscription in _registry.Open)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!await subscription.TryEnterIdleAsync(idle, now, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }
            await _registry.EndAndExitAsync(subscription).ConfigureAwait(false);
            SubscriptionLog.Expired(logger, subscription.Name);
            expired++;
        }
        return expired + await ExpireKeptAsync(idle, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends the kept subscriptions that no gateway has saved for the idle timeout (counted from this gateway's start at
    /// the earliest), so that an abandoned one does not hold its groups, and with them the queue's retention, for ever.
    /// </summary>
    private async Task<int> ExpireKeptAsync(TimeSpan idle, CancellationToken cancellationToken)
    {
        var kept = await meta.LoadWithPrefixAsync(SubscriptionCheckpoint.KeyPrefix, cancellationToken).ConfigureAwait(false);
        var expired = 0;
        for (var i = 0; i < kept.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = kept.Keys[i][SubscriptionCheckpoint.KeyPrefix.Length..];
            if (_registry.Contains(name))
            {
                continue;
            }
            bool Idle(SubscriptionCheckpoint checkpoint) =>
                time.GetUtcNow().ToUnixTimeMilliseconds() - Math.Max(checkpoint.SavedAtMs, _startedAtMs) >= (long)idle.TotalMilliseconds;
            try
            {
                if (Idle(SubscriptionCheckpoint.Parse(name, kept.Values[i])) && await _registry.RemoveKeptAsync(name, Idle, cancellationToken).ConfigureAwait(false))
                {
                    SubscriptionLog.Expired(logger, name);
                    expired++;
                }
            }
            catch (Exception ex) when (ex is SubscriptionConflictException or SubscriptionNotFoundException)
            {
                // Opened here, or ended elsewhere, meanwhile.
            }
            catch (SubscriptionCheckpointUnreadableException ex)
            {
                SubscriptionLog.Unreadable(logger, ex, name);
            }
        }
        return expired;
    }
}
