
namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>The kept checkpoints: a removal of one not open here deletes the record and its groups.</summary>
public sealed partial class StreamSubscriptions
{
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
                SubscriptionLog.Unreadable(logger, ex, subName);
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
            SubscriptionLog.Ended(logger, subName);
            SubscriptionEnded?.Invoke(subName);
            return true;
        }
        finally
        {
            _admission.Release();
        }
    }
}
