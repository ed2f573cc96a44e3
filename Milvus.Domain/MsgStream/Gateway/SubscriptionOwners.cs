using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Kv;
using Milvus.Domain.Sessions;

namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>
/// Which gateway holds each msgstream subscription: one at a time, recorded in the meta KV under
/// <c>msgstream/owners/&lt;subName&gt;</c> and bound to the holder's session lease. The first gateway that a call for a
/// subscription reaches claims it (put-if-absent); a call that reaches another gateway is served through the holder.
/// When the holder dies its record goes with its lease, and the next call, on any gateway, takes the subscription over
/// from its checkpoint. A subscription that ends (deleted, expired, its SSE client gone) releases its record.
/// </summary>
public sealed partial class SubscriptionOwners
{
    /// <summary>Where the records live, under the meta KV's root path.</summary>
    public const string Prefix = "msgstream/owners/";

    private readonly IMetaKv _meta;
    private readonly Session _session;
    private readonly StreamSubscriptions _subscriptions;
    private readonly ILogger<SubscriptionOwners> _logger;
    // The subscriptions this gateway holds, with the lease it claimed them under (a new lease means the records are gone)
    // and the exact record it wrote, which carries a claim id of its own: a release removes only that record.
    private readonly ConcurrentDictionary<string, (long Lease, string Record)> _held = new(StringComparer.Ordinal);

    public SubscriptionOwners(IMetaKv meta, Session session, StreamSubscriptions subscriptions, ILogger<SubscriptionOwners> logger)
    {
        _meta = meta;
        _session = session;
        _subscriptions = subscriptions;
        _logger = logger;
        subscriptions.SubscriptionEnded += name => _ = ReleaseAsync(name);
        session.RegistrationChanged += (registered, reason) =>
        {
            if (!registered)
            {
                Log.SessionLost(_logger, _held.Count, reason);
                _ = LetGoAllAsync();
            }
        };
    }

    /// <summary>
    /// The address of the gateway that holds <paramref name="subName"/> when it is another one; null when this gateway
    /// holds it, or has just claimed it because nobody did.
    /// </summary>
    /// <exception cref="SubscriptionOwnerUnavailableException">This gateway's session is not registered.</exception>
    /// <exception cref="KvUnavailableException">The meta KV does not answer.</exception>
    public async Task<string?> RemoteOwnerAsync(string subName, CancellationToken cancellationToken)
    {
        var session = _session;
        if (!session.IsRegistered)
        {
            throw new SubscriptionOwnerUnavailableException("This gateway's session is not registered (the meta KV may be unreachable), so it cannot hold subscriptions; it registers again by itself, retry shortly.");
        }
        var lease = session.LeaseId;
        if (_held.TryGetValue(subName, out var held) && held.Lease == lease)
        {
            return null;
        }
        var key = Prefix + subName;
        var mine = JsonSerializer.Serialize(new OwnerRecord(session.ServerId, session.Info!.Address, Guid.NewGuid().ToString("N")));
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (await _meta.CompareVersionAndSwapAsync(key, 0, mine, lease, cancellationToken).ConfigureAwait(false))
            {
                _held[subName] = (lease, mine);
                Log.Claimed(_logger, subName);
                return null;
            }
            string value;
            try
            {
                value = await _meta.LoadAsync(key, cancellationToken).ConfigureAwait(false);
            }
            catch (KvKeyNotFoundException)
            {
                continue; // Released meanwhile: claim again.
            }
            var owner = JsonSerializer.Deserialize<OwnerRecord>(value);
            if (owner is not null && owner.ServerId != session.ServerId)
            {
                // Held elsewhere: a copy left here from before this gateway lost its session must not read on.
                await _subscriptions.LetGoAsync(subName).ConfigureAwait(false);
                return owner.Address;
            }
            // Ours from an earlier lease of this same server id: take it under the current one.
            if (!await _meta.CompareValueAndSwapAsync(key, value, mine, lease, cancellationToken).ConfigureAwait(false))
            {
                continue; // It changed meanwhile: look again.
            }
            _held[subName] = (lease, mine);
            return null;
        }
        throw new SubscriptionOwnerUnavailableException($"Subscription '{subName}' changed hands three times during this call; retry.");
    }

    /// <summary>Removes this gateway's record of <paramref name="subName"/> when no subscription of that name is open here (a call that claimed it failed).</summary>
    public Task ReleaseUnlessOpenAsync(string subName) =>
        _subscriptions.Contains(subName) ? Task.CompletedTask : ReleaseAsync(subName);

    /// <summary>Removes this gateway's record of <paramref name="subName"/>, when it holds one.</summary>
    public async Task ReleaseAsync(string subName)
    {
        if (!_held.TryRemove(subName, out var held))
        {
            return;
        }
        var mine = held.Record;
        try
        {
            // Only our own record: a successor's claim stays. Our record lives as long as our lease, so it cannot change
            // hands between the read and the removal.
            if (await _meta.LoadAsync(Prefix + subName).ConfigureAwait(false) == mine)
            {
                await _meta.RemoveAsync(Prefix + subName).ConfigureAwait(false);
            }
        }
        catch (KvKeyNotFoundException)
        {
            // Gone already.
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // It goes with the session lease at the latest.
            Log.ReleaseFailed(_logger, ex, subName);
        }
    }

    /// <summary>
    /// Lets go of every subscription held here when the session is lost: its records go with the lease, so another
    /// gateway may take them over from their checkpoints, and a copy here must not read on from the shared groups.
    /// </summary>
    private async Task LetGoAllAsync()
    {
        foreach (var name in _held.Keys)
        {
            _held.TryRemove(name, out _);
            try
            {
                await _subscriptions.LetGoAsync(name).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.LetGoFailed(_logger, ex, name);
            }
        }
    }

    /// <summary>A holder's record: its server id and address, and an id of this claim.</summary>
    private sealed record OwnerRecord(long ServerId, string Address, string ClaimId);

    private static partial class Log
    {
        [LoggerMessage(EventId = 6151, Level = LogLevel.Debug, Message = "This gateway holds subscription {SubName}.")]
        public static partial void Claimed(ILogger logger, string subName);

        [LoggerMessage(EventId = 6152, Level = LogLevel.Warning, Message = "The owner record of subscription {SubName} could not be removed; it goes with this gateway's session lease.")]
        public static partial void ReleaseFailed(ILogger logger, Exception exception, string subName);

        [LoggerMessage(EventId = 6154, Level = LogLevel.Warning, Message = "This gateway lost its session ({Reason}); it lets go of the {Count} subscriptions it held, which any gateway takes over from their checkpoints.")]
        public static partial void SessionLost(ILogger logger, int count, string reason);

        [LoggerMessage(EventId = 6153, Level = LogLevel.Warning, Message = "Subscription {SubName} could not be let go of after this gateway lost its session.")]
        public static partial void LetGoFailed(ILogger logger, Exception exception, string subName);
    }
}

/// <summary>The subscription's holder cannot be found or reached now; the HTTP layer answers 503.</summary>
public sealed class SubscriptionOwnerUnavailableException(string message, Exception? inner = null) : Exception(message, inner), IMilvusError
{
    public ErrorKind Kind => ErrorKind.Unavailable;
}
