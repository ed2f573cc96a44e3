
namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>The checkpoint protocol: each consume acknowledges the answer before it in the meta KV, and a removal deletes the record.</summary>
public sealed partial class StreamSubscriptions
{
    /// <summary>
    /// Moves the checkpoint past the last answer, which the call now in the gate acknowledges; with nothing to
    /// acknowledge, saves it again once a third of the idle timeout has passed, so that it never looks idle to a sweep
    /// on another gateway while it is in use here.
    /// </summary>
    private async Task AcknowledgeAsync(string subName, Subscription subscription, CancellationToken cancellationToken)
    {
        if (subscription.Pending is { } pending)
        {
            subscription.Checkpoint = await pending.SaveAsync(meta, subName, time, cancellationToken).ConfigureAwait(false);
            subscription.Pending = null;
        }
        else if (subscription.Checkpoint is { } checkpoint
            && time.GetUtcNow().ToUnixTimeMilliseconds() - checkpoint.SavedAtMs >= options.Value.SubscriptionIdleSeconds * 1000L / 3)
        {
            subscription.Checkpoint = await checkpoint.SaveAsync(meta, subName, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Ends a consume subscription that this gateway does not hold open (kept from before a restart): its groups and
    /// its checkpoint, when <paramref name="only"/> (if given) still holds for the checkpoint read now.
    /// </summary>
    /// <returns>Whether it ended.</returns>
    /// <exception cref="SubscriptionNotFoundException">No checkpoint is kept under that name.</exception>
    /// <exception cref="SubscriptionConflictException">It was opened here meanwhile.</exception>
    private async Task<bool> RemoveKeptAsync(string subName, Func<SubscriptionCheckpoint, bool>? only, CancellationToken cancellationToken)
    {
        await _admission.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_subscriptions.ContainsKey(subName))
            {
                throw new SubscriptionConflictException($"Subscription '{subName}' was opened meanwhile; delete it again.");
            }
            SubscriptionCheckpoint? kept;
            try
            {
                kept = await SubscriptionCheckpoint.LoadAsync(meta, subName, cancellationToken).ConfigureAwait(false)
                    ?? throw new SubscriptionNotFoundException(subName);
            }
            catch (SubscriptionCheckpointUnreadableException ex) when (only is null)
            {
                // Deleted on request all the same; its groups are unknown, so they stay.
                Log.Unreadable(logger, ex, subName);
                kept = null;
            }
            if (kept is not null && only is not null && !only(kept))
            {
                return false;
            }
            // The key first: a crash between the two then leaves groups that nothing resumes, not a checkpoint
            // whose groups are gone.
            await meta.RemoveAsync(SubscriptionCheckpoint.Key(subName), cancellationToken).ConfigureAwait(false);
            if (kept is not null)
            {
                await DestroyGroupsAsync(subName, kept.Channels).ConfigureAwait(false);
            }
            Log.Ended(logger, subName);
            SubscriptionEnded?.Invoke(subName);
            return true;
        }
        finally
        {
            _admission.Release();
        }
    }
}
