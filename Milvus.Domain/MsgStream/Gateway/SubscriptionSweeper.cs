namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>
/// The subscriptions' maintenance: ends those, open here or only kept in the meta KV, that no call has used for the
/// idle time, and closes the streams at shutdown. It works through the <see cref="SubscriptionRegistry"/>.
/// </summary>
/// <remarks>
/// It has no lock of its own. It walks the registry without one, takes a subscription's gate only without waiting
/// (one in a call is in use) and looks again once it holds it, and ends subscriptions through the registry, under its
/// admission lock.
/// </remarks>
internal sealed class SubscriptionSweeper(SubscriptionRegistry registry, SubscriptionContext context)
{
    // A kept subscription's idle time counts from this gateway's start at the earliest.
    private readonly long _startedAtMs = context.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Ends every subscription unused for longer than the idle timeout and not in a call, and every kept one that no
    /// gateway has saved for as long; returns how many.
    /// </summary>
    public async Task<int> ExpireIdleAsync(CancellationToken cancellationToken)
    {
        var idle = TimeSpan.FromSeconds(context.Options.SubscriptionIdleSeconds);
        var now = context.Time.GetTimestamp();
        var expired = 0;
        foreach (var subscription in registry.Open)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!await subscription.TryEnterIdleAsync(idle, now, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }
            await registry.EndAndExitAsync(subscription).ConfigureAwait(false);
            SubscriptionLog.Expired(context.Logger, subscription.Name);
            expired++;
        }
        return expired + await ExpireKeptAsync(idle, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Closes every subscription's stream, for shutdown: the consumer groups and the checkpoints stay. Later calls on
    /// a closed subscription find nothing ready.
    /// </summary>
    public async Task CloseStreamsAsync()
    {
        foreach (var subscription in registry.Open)
        {
            await subscription.CloseStreamAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Ends the kept subscriptions that no gateway has saved for the idle timeout (counted from this gateway's start at
    /// the earliest), so that an abandoned one does not hold its groups, and with them the queue's retention, for ever.
    /// </summary>
    private async Task<int> ExpireKeptAsync(TimeSpan idle, CancellationToken cancellationToken)
    {
        var kept = await context.Meta.LoadWithPrefixAsync(SubscriptionCheckpoint.KeyPrefix, cancellationToken).ConfigureAwait(false);
        var expired = 0;
        for (var i = 0; i < kept.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = kept.Keys[i][SubscriptionCheckpoint.KeyPrefix.Length..];
            if (registry.Contains(name))
            {
                continue;
            }
            // Asked again by the registry, under admission, of the checkpoint as it is then.
            bool Idle(SubscriptionCheckpoint checkpoint) =>
                context.Time.GetUtcNow().ToUnixTimeMilliseconds() - Math.Max(checkpoint.SavedAtMs, _startedAtMs) >= (long)idle.TotalMilliseconds;
            try
            {
                if (Idle(SubscriptionCheckpoint.Parse(name, kept.Values[i])) && await registry.RemoveKeptAsync(name, Idle, cancellationToken).ConfigureAwait(false))
                {
                    SubscriptionLog.Expired(context.Logger, name);
                    expired++;
                }
            }
            catch (Exception ex) when (ex is SubscriptionConflictException or SubscriptionNotFoundException)
            {
                // Opened here, or ended elsewhere, meanwhile.
            }
            catch (SubscriptionCheckpointUnreadableException ex)
            {
                SubscriptionLog.Unreadable(context.Logger, ex, name);
            }
        }
        return expired;
    }
}
