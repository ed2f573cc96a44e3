using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Milvus.Domain.Mq;

namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>
/// The subscriptions held open on this gateway, by name, and their admission: opening one (within the limits, in
/// total and per client, and from its kept checkpoint if it has one), ending one, letting one go, and ending a kept
/// one that is not open here.
/// </summary>
/// <remarks>
/// <para>
/// Lock: <see cref="_admission"/> guards which subscriptions exist. An open checks the limits and inserts under it, so
/// no two calls open the same name or pass a limit together; an end removes the subscription, its checkpoint and its
/// groups under it, so that no open of the same name reads the checkpoint while it goes (and ends of kept ones are
/// serialised with both). The table itself is concurrent: lookups, counts and the sweep's walk take no lock.
/// </para>
/// <para>
/// Lock order: a subscription's gate, then admission. An end runs in the gate of the subscription it ends (but for an
/// SSE one, whose lease ends it); nothing waits for a gate while it holds admission. The lock is never disposed: an SSE
/// response that ends after shutdown still ends its subscription under it (a <see cref="SemaphoreSlim"/> whose wait
/// handle is never used holds nothing to release).
/// </para>
/// </remarks>
internal sealed class SubscriptionRegistry(SubscriptionContext context) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Subscription> _subscriptions = new(StringComparer.Ordinal);
    // Admission: guards which subscriptions exist (opens, ends, kept checkpoints' removal); taken after a gate, never before.
    private readonly SemaphoreSlim _admission = new(1, 1);

    /// <summary>Raised, under admission, with a subscription's name once it has ended here (deleted, expired, or its SSE client gone).</summary>
    public event Action<string>? SubscriptionEnded;

    /// <summary>How many subscriptions are open.</summary>
    public int Count => _subscriptions.Count;

    /// <summary>The open subscriptions, walked without a lock: one that opens or ends meanwhile may or may not be in it.</summary>
    public IEnumerable<Subscription> Open => _subscriptions.Select(entry => entry.Value);

    /// <summary>Whether a subscription named <paramref name="subName"/> is open.</summary>
    public bool Contains(string subName) => _subscriptions.ContainsKey(subName);

    /// <summary>The open subscription named <paramref name="subName"/>, if any.</summary>
    public bool TryGet(string subName, [MaybeNullWhen(false)] out Subscription subscription) => _subscriptions.TryGetValue(subName, out subscription);

    /// <summary>
    /// Whether subscription <paramref name="subName"/> is time-ticked: as it is open here, else as it is kept from
    /// before a restart; a new subscription is.
    /// </summary>
    /// <exception cref="SubscriptionCheckpointUnreadableException">Its kept checkpoint is not readable.</exception>
    public async Task<bool> IsTimeTickAlignedAsync(string subName, CancellationToken cancellationToken) =>
        TryGet(subName, out var existing) ? existing.TimeTickAligned
            : (await SubscriptionCheckpoint.LoadAsync(context.Meta, subName, cancellationToken).ConfigureAwait(false))?.TimeTickAligned ?? true;

    /// <summary>
    /// Enters the gate of consume subscription <paramref name="subName"/>, opening it on <paramref name="channels"/> at
    /// <paramref name="start"/> if it is new; when the one it waited for ended meanwhile (deleted, expired, let go),
    /// opens it afresh. The caller leaves the gate with <see cref="Subscription.Exit"/>.
    /// </summary>
    /// <exception cref="MqChannelNotFoundException">A channel does not exist.</exception>
    /// <exception cref="SubscriptionConflictException">The subscription exists on other channels, of the other kind, or is streaming.</exception>
    /// <exception cref="SubscriptionLimitException">A new subscription would pass the limit.</exception>
    /// <exception cref="SubscriptionClientLimitException">A new subscription would pass <paramref name="client"/>'s limit.</exception>
    public async Task<Subscription> EnterAsync(
        string subName, IReadOnlyList<string> channels, bool timeTickAligned, MqStartPosition start, string? client, CancellationToken cancellationToken)
    {
        while (true)
        {
            var subscription = await GetOrOpenAsync(subName, channels, timeTickAligned, start, streaming: false, client, cancellationToken).ConfigureAwait(false);
            if (await subscription.EnterAsync(cancellationToken).ConfigureAwait(false))
            {
                return subscription;
            }
        }
    }

    /// <summary>Opens subscription <paramref name="subName"/> for streaming (SSE); disposing the returned lease ends it.</summary>
    /// <exception cref="SubscriptionConflictException">A subscription of that name is open.</exception>
    public async Task<SubscriptionLease> OpenStreamingAsync(
        string subName, IReadOnlyList<string> channels, bool timeTickAligned, MqStartPosition start, string? client, CancellationToken cancellationToken)
    {
        if (_subscriptions.ContainsKey(subName))
        {
            throw new SubscriptionConflictException($"Subscription '{subName}' is open already.");
        }
        var subscription = await GetOrOpenAsync(subName, channels, timeTickAligned, start, streaming: true, client, cancellationToken).ConfigureAwait(false);
        return subscription.Lease();
    }

    /// <summary>Ends subscription <paramref name="subName"/>, open here or only kept: its stream, checkpoint and consumer groups.</summary>
    /// <exception cref="SubscriptionNotFoundException">No subscription has that name.</exception>
    /// <exception cref="SubscriptionConflictException">It is streaming over SSE; it ends when its client leaves.</exception>
    public async Task RemoveAsync(string subName, CancellationToken cancellationToken)
    {
        if (!_subscriptions.TryGetValue(subName, out var subscription))
        {
            await RemoveKeptAsync(subName, only: null, cancellationToken).ConfigureAwait(false);
            return;
        }
        if (subscription.Streaming)
        {
            throw new SubscriptionConflictException($"Subscription '{subName}' is streaming; it ends when its client disconnects.");
        }
        if (!await subscription.EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            // Ended meanwhile by another call or the idle sweep.
            throw new SubscriptionNotFoundException(subName);
        }
        await EndAndExitAsync(subscription).ConfigureAwait(false);
    }

    /// <summary>
    /// Lets go of subscription <paramref name="subName"/> without ending it, because another gateway holds it now: its
    /// stream stops, and its groups and checkpoint stay for the holder. Does nothing when it is not open here.
    /// </summary>
    public async Task LetGoAsync(string subName)
    {
        if (!_subscriptions.TryGetValue(subName, out var subscription))
        {
            return;
        }
        await subscription.LetGoAsync().ConfigureAwait(false);
        if (subscription.Streaming)
        {
            // Its SSE response ends with the stream; the end then leaves the groups to the gateway that holds the name now.
            return;
        }
        // In its gate but not under admission: its checkpoint and groups stay, so no open can see them go.
        if (!await subscription.EnterAsync(CancellationToken.None).ConfigureAwait(false))
        {
            return;
        }
        try
        {
            await ForgetAsync(subscription).ConfigureAwait(false);
            SubscriptionLog.LetGo(context.Logger, subName);
        }
        finally
        {
            subscription.Exit();
        }
    }

    /// <summary>Ends <paramref name="subscription"/>, whose gate the caller holds (see <see cref="EndAsync"/>), and leaves the gate.</summary>
    public async Task EndAndExitAsync(Subscription subscription)
    {
        try
        {
            await EndAsync(subscription).ConfigureAwait(false);
        }
        finally
        {
            subscription.Exit();
        }
    }

    /// <summary>
    /// Ends a subscription: out of the table, its stream closed, its checkpoint and groups gone (but for one let go of,
    /// whose groups and checkpoint are another gateway's). Runs under the admission lock, so that no open of the same
    /// name reads the checkpoint while it goes. The caller holds the subscription's gate, and leaves it after; an SSE
    /// subscription's lease ends it without one.
    /// </summary>
    public async Task EndAsync(Subscription subscription)
    {
        await _admission.WaitAsync().ConfigureAwait(false);
        try
        {
            await ForgetAsync(subscription).ConfigureAwait(false);
            if (subscription.LetGo)
            {
                // Another gateway holds this name now: its groups (and checkpoint) are that gateway's.
                return;
            }
            if (!subscription.Streaming)
            {
                // The key first: a crash between the two then leaves groups that nothing resumes.
                await context.Meta.RemoveAsync(SubscriptionCheckpoint.Key(subscription.Name)).ConfigureAwait(false);
            }
            await DestroyGroupsAsync(subscription.Name, subscription.Channels).ConfigureAwait(false);
            SubscriptionLog.Ended(context.Logger, subscription.Name);
            SubscriptionEnded?.Invoke(subscription.Name);
        }
        finally
        {
            _admission.Release();
        }
    }

    /// <summary>
    /// Ends a consume subscription that this gateway does not hold open (kept from before a restart): its groups and
    /// its checkpoint, when <paramref name="only"/> (if given) still holds for the checkpoint read now.
    /// </summary>
    /// <returns>Whether it ended.</returns>
    /// <exception cref="SubscriptionNotFoundException">No checkpoint is kept under that name.</exception>
    /// <exception cref="SubscriptionConflictException">It was opened here meanwhile.</exception>
    public async Task<bool> RemoveKeptAsync(string subName, Func<SubscriptionCheckpoint, bool>? only, CancellationToken cancellationToken)
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
                kept = await SubscriptionCheckpoint.LoadAsync(context.Meta, subName, cancellationToken).ConfigureAwait(false)
                    ?? throw new SubscriptionNotFoundException(subName);
            }
            catch (SubscriptionCheckpointUnreadableException ex) when (only is null)
            {
                // Deleted on request all the same; its groups are unknown, so they stay.
                SubscriptionLog.Unreadable(context.Logger, ex, subName);
                kept = null;
            }
            if (kept is not null && only is not null && !only(kept))
            {
                return false;
            }
            // The key first: a crash between the two then leaves groups that nothing resumes, not a checkpoint
            // whose groups are gone.
            await context.Meta.RemoveAsync(SubscriptionCheckpoint.Key(subName), cancellationToken).ConfigureAwait(false);
            if (kept is not null)
            {
                await DestroyGroupsAsync(subName, kept.Channels).ConfigureAwait(false);
            }
            SubscriptionLog.Ended(context.Logger, subName);
            SubscriptionEnded?.Invoke(subName);
            return true;
        }
        finally
        {
            _admission.Release();
        }
    }

    /// <summary>Disposes every subscription's stream and forgets them; consumer groups and checkpoints stay.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var subscription in _subscriptions.Values)
        {
            await subscription.DisposeStreamAsync().ConfigureAwait(false);
        }
        _subscriptions.Clear();
        // The admission lock is not disposed: an SSE response that ends after shutdown still ends its subscription
        // under it (a SemaphoreSlim whose wait handle is never used holds nothing to release).
    }

    private async Task<Subscription> GetOrOpenAsync(
        string subName, IReadOnlyList<string> channels, bool timeTickAligned, MqStartPosition start, bool streaming, string? client, CancellationToken cancellationToken)
    {
        if (_subscriptions.TryGetValue(subName, out var existing))
        {
            // Touched before the caller waits for its gate, so that the idle sweep, which looks again once it holds
            // the gate, leaves a subscription that a call is about to use.
            existing.Touch();
            return Check(existing, subName, channels, timeTickAligned, streaming);
        }
        await _admission.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_subscriptions.TryGetValue(subName, out existing))
            {
                return Check(existing, subName, channels, timeTickAligned, streaming);
            }
            var limit = context.Options.MaxSubscriptions;
            if (_subscriptions.Count >= limit)
            {
                throw new SubscriptionLimitException(limit);
            }
            var perClient = context.Options.MaxSubscriptionsPerClient;
            if (client is not null && _subscriptions.Values.Count(s => s.Client == client) >= perClient)
            {
                throw new SubscriptionClientLimitException(perClient);
            }
            foreach (var channel in channels)
            {
                // Checked here because AsConsumerAsync would create a missing channel.
                if (!await context.Mq.ChannelExistsAsync(channel, cancellationToken).ConfigureAwait(false))
                {
                    throw new MqChannelNotFoundException(channel);
                }
            }
            var kept = await SubscriptionCheckpoint.LoadAsync(context.Meta, subName, cancellationToken).ConfigureAwait(false);
            if (kept is not null && (streaming || !kept.Reads(channels, timeTickAligned)))
            {
                throw new SubscriptionConflictException(
                    $"Subscription '{subName}' is kept for consume on [{string.Join(", ", kept.Channels)}] with timeTickAligned={kept.TimeTickAligned}; delete it to change it.");
            }
            var checkpoint = kept ?? await SubscriptionCheckpoint.StartAsync(context.Mq, channels, timeTickAligned, start, cancellationToken).ConfigureAwait(false);
            var subscription = await Subscription.OpenAsync(
                context, subName, channels, timeTickAligned, streaming, client, checkpoint, resumed: kept is not null, EndAsync, cancellationToken).ConfigureAwait(false);
            _subscriptions[subName] = subscription;
            if (kept is null)
            {
                SubscriptionLog.Opened(context.Logger, subName, string.Join(',', channels), timeTickAligned);
            }
            else
            {
                SubscriptionLog.Resumed(context.Logger, subName, string.Join(',', channels), timeTickAligned);
            }
            return subscription;
        }
        finally
        {
            _admission.Release();
        }
    }

    private static Subscription Check(Subscription existing, string subName, IReadOnlyList<string> channels, bool timeTickAligned, bool streaming)
    {
        if (streaming)
        {
            // Opened by another call since the caller looked.
            throw new SubscriptionConflictException($"Subscription '{subName}' is open already.");
        }
        if (existing.Streaming)
        {
            throw new SubscriptionConflictException($"Subscription '{subName}' is streaming over SSE.");
        }
        if (existing.TimeTickAligned != timeTickAligned || !existing.Channels.SequenceEqual(channels, StringComparer.Ordinal))
        {
            throw new SubscriptionConflictException(
                $"Subscription '{subName}' reads [{string.Join(", ", existing.Channels)}] with timeTickAligned={existing.TimeTickAligned}; delete it to change them.");
        }
        return existing;
    }

    /// <summary>Marks an ending subscription ended, takes it out of the table and disposes its stream; in its gate (an SSE one: its lease's end).</summary>
    private async Task ForgetAsync(Subscription subscription)
    {
        subscription.MarkEnded();
        _subscriptions.TryRemove(new KeyValuePair<string, Subscription>(subscription.Name, subscription));
        await subscription.DisposeStreamAsync().ConfigureAwait(false);
    }

    private async Task DestroyGroupsAsync(string subName, IEnumerable<string> channels)
    {
        foreach (var channel in channels)
        {
            try
            {
                await context.Mq.DestroyConsumerGroupAsync(channel, subName).ConfigureAwait(false);
            }
            catch (MqException ex) when (ex is MqChannelNotFoundException or MqGroupNotFoundException)
            {
                // The channel was destroyed, with its groups.
            }
        }
    }
}
