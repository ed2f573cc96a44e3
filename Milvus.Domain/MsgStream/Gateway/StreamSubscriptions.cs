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
/// <para>
/// A consume subscription also keeps a <see cref="SubscriptionCheckpoint"/> in the meta KV, which each consume moves
/// past the answer before it. A gateway that restarts reopens the subscription there, not at its consumer groups,
/// which have moved on by whatever its stream had read ahead. This holds one gateway's subscriptions; which gateway holds
/// a subscription in a cluster is recorded in the meta KV (<see cref="SubscriptionOwners"/>), and calls reach the holder.
/// </para>
/// <para>
/// It holds no lock: the <see cref="SubscriptionRegistry"/> admits and ends subscriptions under its admission lock,
/// each <see cref="Subscription"/> runs one call at a time in its gate, and the <see cref="SubscriptionSweeper"/>
/// expires idle ones through the registry.
/// </para>
/// </remarks>
public sealed class StreamSubscriptions : IAsyncDisposable
{
    private readonly SubscriptionRegistry _registry;
    private readonly SubscriptionSweeper _sweeper;

    /// <summary>Holds no subscription yet; a kept one's idle time counts from now at the earliest.</summary>
    public StreamSubscriptions(
        MsgStreamFactory factory, IMqClient mq, ITxnKv meta, TimeProvider time, IOptions<StreamSubscriptionOptions> options, ILogger<StreamSubscriptions> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var context = new SubscriptionContext(factory, mq, meta, time, options.Value, logger);
        _registry = new SubscriptionRegistry(context);
        _sweeper = new SubscriptionSweeper(_registry, context);
    }

    /// <summary>Raised with a subscription's name once it has ended here (deleted, expired, or its SSE client gone).</summary>
    public event Action<string>? SubscriptionEnded
    {
        add => _registry.SubscriptionEnded += value;
        remove => _registry.SubscriptionEnded -= value;
    }

    /// <summary>How many subscriptions are open.</summary>
    public int Count => _registry.Count;

    /// <summary>Whether a subscription named <paramref name="subName"/> is open.</summary>
    public bool Contains(string subName) => _registry.Contains(subName);

    /// <summary>How many packs subscription <paramref name="subName"/> holds read ahead and not yet answered (0 when it is not open).</summary>
    public int ReadyPacks(string subName) => _registry.TryGet(subName, out var subscription) ? subscription.ReadyPacks : 0;

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
        var subscription = await _registry.EnterAsync(subName, channels, timeTickAligned, start, client, cancellationToken).ConfigureAwait(false);
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
        var aligned = await _registry.IsTimeTickAlignedAsync(subName, cancellationToken).ConfigureAwait(false);
        var subscription = await _registry.EnterAsync(subName, channels, aligned, MqStartPosition.Earliest, client, cancellationToken).ConfigureAwait(false);
        try
        {
            await subscription.SeekAsync(positions, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // A seek that could not restore has ended the subscription; it still leaves the gate here.
            subscription.Exit();
        }
    }

    /// <summary>
    /// Opens subscription <paramref name="subName"/> for streaming (SSE): its packs come from
    /// <see cref="IMsgStream.Chan"/> of the returned lease's stream, and disposing the lease ends it.
    /// </summary>
    /// <exception cref="SubscriptionConflictException">A subscription of that name is open.</exception>
    public Task<SubscriptionLease> OpenStreamingAsync(string subName, IReadOnlyList<string> channels, bool timeTickAligned, MqStartPosition start, string? client = null, CancellationToken cancellationToken = default) =>
        _registry.OpenStreamingAsync(subName, channels, timeTickAligned, start, client, cancellationToken);

    /// <summary>Ends subscription <paramref name="subName"/>: closes its stream and destroys its consumer groups.</summary>
    /// <exception cref="SubscriptionNotFoundException">No subscription has that name.</exception>
    /// <exception cref="SubscriptionConflictException">It is streaming over SSE; it ends when its client leaves.</exception>
    public Task RemoveAsync(string subName, CancellationToken cancellationToken = default) => _registry.RemoveAsync(subName, cancellationToken);

    /// <summary>
    /// Lets go of subscription <paramref name="subName"/> here without ending it, because another gateway holds it now:
    /// its stream stops reading (a call waiting on it returns), and its consumer groups and checkpoint stay for the
    /// holder. A later call here opens it afresh from the checkpoint. Does nothing when it is not open here.
    /// </summary>
    public Task LetGoAsync(string subName) => _registry.LetGoAsync(subName);

    /// <summary>
    /// Closes every subscription's stream, for shutdown: the consumer groups and the checkpoints stay, so that after a
    /// restart a consume subscription resumes past its last acknowledged answer. Later calls on a closed subscription
    /// find nothing ready.
    /// </summary>
    public Task CloseStreamsAsync() => _sweeper.CloseStreamsAsync();

    /// <summary>
    /// Ends every subscription unused for longer than the idle timeout and not in a call, and every kept one that no
    /// gateway has saved for as long; returns how many.
    /// </summary>
    public Task<int> ExpireIdleAsync(CancellationToken cancellationToken = default) => _sweeper.ExpireIdleAsync(cancellationToken);

    public ValueTask DisposeAsync() => _registry.DisposeAsync();
}
