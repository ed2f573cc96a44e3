using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream.Streams;

namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>
/// The subscriptions that <c>/msgstream/consume</c> and <c>/msgstream/subscribe</c> keep between calls, keyed by
/// subName. Each holds its plain or time-ticked stream (and so its read-ahead); calls on one subscription run one
/// at a time. A subscription ends when deleted, when it expires after
/// <see cref="StreamSubscriptionOptions.SubscriptionIdleSeconds"/> unused, or when its SSE client leaves; its
/// consumer groups are destroyed then, so a later subscription of the same name starts afresh.
/// </summary>
/// <remarks>
/// A consume subscription also keeps a <see cref="SubscriptionCheckpoint"/> in the meta KV, which each consume moves
/// past the answer before it. A gateway that restarts reopens the subscription there, not at its consumer groups,
/// which have moved on by whatever its stream had read ahead. This holds one gateway's subscriptions; which gateway holds
/// a subscription in a cluster is recorded outside (the workers' <c>SubscriptionOwners</c>), and calls reach the holder.
/// </remarks>
public sealed partial class StreamSubscriptions(
    MsgStreamFactory factory, IMqClient mq, ITxnKv meta, TimeProvider time, IOptions<StreamSubscriptionOptions> options, ILogger<StreamSubscriptions> logger) : IAsyncDisposable
{
    private readonly SubscriptionContext _context = new(factory, mq, meta, time, options.Value, logger);
    private readonly ConcurrentDictionary<string, Subscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _admission = new(1, 1);
    // A kept subscription's idle time counts from this gateway's start at the earliest.
    private readonly long _startedAtMs = time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Raised with a subscription's name once it has ended here (deleted, expired, or its SSE client gone).</summary>
    public event Action<string>? SubscriptionEnded;

    /// <summary>How many subscriptions are open.</summary>
    public int Count => _subscriptions.Count;

    /// <summary>Whether a subscription named <paramref name="subName"/> is open.</summary>
    public bool Contains(string subName) => _subscriptions.ContainsKey(subName);

    /// <summary>How many packs subscription <paramref name="subName"/> holds read ahead and not yet answered (0 when it is not open).</summary>
    public int ReadyPacks(string subName) =>
        _subscriptions.TryGetValue(subName, out var subscription) ? subscription.ReadyPacks : 0;

    /// <summary>
    /// The next pack of subscription <paramref name="subName"/>, opening it on <paramref name="channels"/> at
    /// <paramref name="start"/> if it is new. Waits up to <paramref name="wait"/>; null when nothing is ready. A
    /// time-ticked subscription answers every pack ready by then joined into one (up to
    /// <see cref="StreamSubscriptionOptions.MaxMsgsPerConsume"/> msgs), which is again a pack between two ticks.
    /// </summary>
    /// <exception cref="MqChannelNotFoundException">A channel does not exist.</exception>
    /// <exception cref="SubscriptionConflictException">The subscription exists on other channels, of the other kind, or is streaming.</exception>
    /// <exception cref="SubscriptionLimitException">A new subscription would pass the limit.</exception>
    /// <exception cref="SubscriptionClientLimitException">A new subscription would pass <paramref name="client"/>'s limit.</exception>
    public async Task<MsgPack?> ConsumeAsync(string subName, IReadOnlyList<string> channels, bool timeTickAligned, MqStartPosition start, TimeSpan wait, string? client = null, CancellationToken cancellationToken = default)
    {
        var subscription = await EnterAsync(() => GetOrOpenAsync(subName, channels, timeTickAligned, start, streaming: false, client, cancellationToken), cancellationToken).ConfigureAwait(false);
        try
        {
            return await subscription.ConsumeAsync(wait, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            subscription.Exit();
        }
    }

    /// <summary>
    /// Moves subscription <paramref name="subName"/> to <paramref name="positions"/> with the seek semantics of its
    /// stream (a new subscription is time-ticked): its stream is replaced by a fresh one that resumes there.
    /// </summary>
    /// <exception cref="MqChannelNotFoundException">A channel does not exist.</exception>
    /// <exception cref="MqMsgIdNotFoundException">A position's message is no longer stored.</exception>
    /// <exception cref="MsgStreamException">A position names a channel the subscription does not read, or a time-ticked one lacks a channel's position.</exception>
    public async Task SeekAsync(string subName, IReadOnlyList<string> channels, IReadOnlyList<MsgPosition> positions, string? client = null, CancellationToken cancellationToken = default)
    {
        // A new subscription is time-ticked, unless it is one kept from before a restart.
        var aligned = _subscriptions.TryGetValue(subName, out var existing) ? existing.TimeTickAligned
            : (await SubscriptionCheckpoint.LoadAsync(meta, subName, cancellationToken).ConfigureAwait(false))?.TimeTickAligned ?? true;
        var subscription = await EnterAsync(() => GetOrOpenAsync(subName, channels, aligned, MqStartPosition.Earliest, streaming: false, client, cancellationToken), cancellationToken).ConfigureAwait(false);
        try
        {
            await subscription.SeekAsync(positions, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            subscription.Exit();
        }
    }

    /// <summary>
    /// Opens subscription <paramref name="subName"/> for streaming (SSE): its packs come from
    /// <see cref="IMsgStream.Chan"/> of the returned lease's stream, and disposing the lease ends it.
    /// </summary>
    /// <exception cref="SubscriptionConflictException">A subscription of that name is open.</exception>
    public async Task<SubscriptionLease> OpenStreamingAsync(string subName, IReadOnlyList<string> channels, bool timeTickAligned, MqStartPosition start, string? client = null, CancellationToken cancellationToken = default)
    {
        if (_subscriptions.ContainsKey(subName))
        {
            throw new SubscriptionConflictException($"Subscription '{subName}' is open already.");
        }
        var subscription = await GetOrOpenAsync(subName, channels, timeTickAligned, start, streaming: true, client, cancellationToken).ConfigureAwait(false);
        return subscription.Lease();
    }

    /// <summary>Ends subscription <paramref name="subName"/>: closes its stream and destroys its consumer groups.</summary>
    /// <exception cref="SubscriptionNotFoundException">No subscription has that name.</exception>
    /// <exception cref="SubscriptionConflictException">It is streaming over SSE; it ends when its client leaves.</exception>
    public async Task RemoveAsync(string subName, CancellationToken cancellationToken = default)
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
    /// Lets go of subscription <paramref name="subName"/> here without ending it, because another gateway holds it now:
    /// its stream stops reading (a call waiting on it returns), and its consumer groups and checkpoint stay for the
    /// holder. A later call here opens it afresh from the checkpoint. Does nothing when it is not open here.
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
        if (!await subscription.EnterAsync(CancellationToken.None).ConfigureAwait(false))
        {
            return;
        }
        try
        {
            await ForgetAsync(subscription).ConfigureAwait(false);
            SubscriptionLog.LetGo(logger, subName);
        }
        finally
        {
            subscription.Exit();
        }
    }

    /// <summary>
    /// Closes every subscription's stream, for shutdown: the consumer groups and the checkpoints stay, so that after a
    /// restart a consume subscription resumes past its last acknowledged answer. Later calls on a closed subscription
    /// find nothing ready.
    /// </summary>
    public async Task CloseStreamsAsync()
    {
        foreach (var subscription in _subscriptions.Values)
        {
            await subscription.CloseStreamAsync().ConfigureAwait(false);
        }
    }

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

    private async Task<Subscription> GetOrOpenAsync(string subName, IReadOnlyList<string> channels, bool timeTickAligned, MqStartPosition start, bool streaming, string? client, CancellationToken cancellationToken)
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
            var limit = options.Value.MaxSubscriptions;
            if (_subscriptions.Count >= limit)
            {
                throw new SubscriptionLimitException(limit);
            }
            var perClient = options.Value.MaxSubscriptionsPerClient;
            if (client is not null && _subscriptions.Values.Count(s => s.Client == client) >= perClient)
            {
                throw new SubscriptionClientLimitException(perClient);
            }
            foreach (var channel in channels)
            {
                // Checked here because AsConsumerAsync would create a missing channel.
                if (!await mq.ChannelExistsAsync(channel, cancellationToken).ConfigureAwait(false))
                {
                    throw new MqChannelNotFoundException(channel);
                }
            }
            var kept = await SubscriptionCheckpoint.LoadAsync(meta, subName, cancellationToken).ConfigureAwait(false);
            if (kept is not null && (streaming || !kept.Reads(channels, timeTickAligned)))
            {
                throw new SubscriptionConflictException(
                    $"Subscription '{subName}' is kept for consume on [{string.Join(", ", kept.Channels)}] with timeTickAligned={kept.TimeTickAligned}; delete it to change it.");
            }
            var checkpoint = kept ?? await SubscriptionCheckpoint.StartAsync(mq, channels, timeTickAligned, start, cancellationToken).ConfigureAwait(false);
            var subscription = await Subscription.OpenAsync(
                _context, subName, channels, timeTickAligned, streaming, client, checkpoint, resumed: kept is not null, EndAsync, cancellationToken).ConfigureAwait(false);
            _subscriptions[subName] = subscription;
            if (kept is null)
            {
                SubscriptionLog.Opened(logger, subName, string.Join(',', channels), timeTickAligned);
            }
            else
            {
                SubscriptionLog.Resumed(logger, subName, string.Join(',', channels), timeTickAligned);
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

    /// <summary>
    /// Waits for the gate of the subscription that <paramref name="open"/> opens or finds; when the one it waited for
    /// ended meanwhile (deleted, expired), opens it afresh.
    /// </summary>
    private static async Task<Subscription> EnterAsync(Func<Task<Subscription>> open, CancellationToken cancellationToken)
    {
        while (true)
        {
            var subscription = await open().ConfigureAwait(false);
            if (await subscription.EnterAsync(cancellationToken).ConfigureAwait(false))
            {
                return subscription;
            }
        }
    }

    /// <summary>
    /// Ends a subscription: out of the table, its stream closed, its checkpoint and groups gone. Runs under the
    /// admission lock, so that no open of the same name reads the checkpoint while it goes. The caller holds the
    /// subscription's gate (and leaves it after), but for an SSE subscription, whose lease ends it.
    /// </summary>
    private async Task EndAsync(Subscription subscription)
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
                await meta.RemoveAsync(SubscriptionCheckpoint.Key(subscription.Name)).ConfigureAwait(false);
            }
            await DestroyGroupsAsync(subscription.Name, subscription.Channels).ConfigureAwait(false);
            SubscriptionLog.Ended(logger, subscription.Name);
            SubscriptionEnded?.Invoke(subscription.Name);
        }
        finally
        {
            _admission.Release();
        }
    }

    /// <summary>Takes an ended subscription out of the table and disposes its stream; its caller holds its gate.</summary>
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
                await mq.DestroyConsumerGroupAsync(channel, subName).ConfigureAwait(false);
            }
            catch (MqException ex) when (ex is MqChannelNotFoundException or MqGroupNotFoundException)
            {
                // The channel was destroyed, with its groups.
            }
        }
    }
}
