using Microsoft.Extensions.Logging;
using Milvus.Domain.Kv;

namespace Milvus.Domain.Sessions;

/// <summary>
/// The active-standby protocol of an exclusive <see cref="Session"/> (Milvus's <c>ProcessActiveStandBy</c>): the role
/// key <c>session/&lt;name&gt;</c> is put with the session's lease only while it is absent, so one session holds it;
/// the others watch it, report its holder, and claim it once the holder's lease has ended.
/// </summary>
internal sealed partial class ActiveStandby
{
    private readonly Session _session;
    private readonly IMetaKv _kv;
    private readonly TimeProvider _time;
    private readonly ILogger<ActiveStandby> _logger;

    /// <summary>The protocol for <paramref name="session"/> on <paramref name="kv"/>.</summary>
    public ActiveStandby(Session session, IMetaKv kv, TimeProvider time, ILogger<ActiveStandby> logger)
    {
        _session = session;
        _kv = kv;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// One attempt to take the exclusive role: puts the role key with the session's lease if the key is absent.
    /// Returns whether the session now holds the role.
    /// </summary>
    /// <exception cref="InvalidOperationException">The session is not exclusive or not registered.</exception>
    public async Task<bool> TryClaimAsync(CancellationToken cancellationToken = default)
    {
        var (info, lease) = _session.LiveExclusiveRegistration();
        var json = SessionCodec.Encode(info with { Key = info.ServerName });
        if (!await _kv.CompareVersionAndSwapAsync(ActiveKey(info), 0, json, lease, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        _session.HoldsRole(lease, json);
        Log.Activated(_logger, info.ServerName, info.ServerId);
        return true;
    }

    /// <summary>
    /// Waits until the session holds its exclusive role, and returns the live signal of the registration that holds
    /// it. Meanwhile it is a standby: it watches the role key, reports the holder it sees (null when there is none)
    /// through <paramref name="onActiveChanged"/>, and claims the key once the holder's lease has ended. A lost
    /// registration, an outage or a compaction only makes it wait and try again.
    /// </summary>
    public async Task<CancellationToken> ProcessAsync(Action<SessionInfo?> onActiveChanged, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onActiveChanged);
        var key = ActiveKey(_session.Info ?? throw new InvalidOperationException("The session is not initialized."));
        while (true)
        {
            var live = await _session.WaitRegisteredAsync(cancellationToken).ConfigureAwait(false);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, live);
            try
            {
                if (await TryClaimAsync(linked.Token).ConfigureAwait(false))
                {
                    return live;
                }
                var listing = await _kv.LoadWithRevisionAsync(key, linked.Token).ConfigureAwait(false);
                var at = IndexOf(listing.Pairs.Keys, key);
                if (at < 0)
                {
                    onActiveChanged(null);
                    continue;
                }
                onActiveChanged(SessionCodec.TryDecode(key, listing.Pairs.Values[at]));
                await WaitUntilFreedAsync(key, listing.Revision + 1, onActiveChanged, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The registration was lost: wait for the next one.
            }
            catch (KvWatchCompactedException)
            {
                // List and watch again.
            }
            catch (Exception e) when (e is KvException or InvalidOperationException)
            {
                // The store is down or refused, the lease just ended, or the registration is being made again.
                Log.StandbyRetry(_logger, key, e.Message);
                await Task.Delay(_session.RetryDelay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Follows the role key from <paramref name="revision"/> until it is deleted.</summary>
    private async Task WaitUntilFreedAsync(string key, long revision, Action<SessionInfo?> onActiveChanged, CancellationToken cancellationToken)
    {
        await foreach (var response in _kv.WatchWithRevisionAsync(key, revision, cancellationToken).ConfigureAwait(false))
        {
            foreach (var change in response.Events.Where(e => e.Key == key))
            {
                if (change.Type == KvEventType.Delete)
                {
                    onActiveChanged(null);
                    return;
                }
                onActiveChanged(SessionCodec.TryDecode(key, change.Value));
            }
        }
    }

    /// <summary>The role key of an exclusive session.</summary>
    internal static string ActiveKey(SessionInfo info) => SessionCodec.ServiceRoot + info.ServerName;

    private static int IndexOf(IReadOnlyList<string> keys, string key)
    {
        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i] == key)
            {
                return i;
            }
        }
        return -1;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7505, Level = LogLevel.Information, Message = "Server {ServerId} holds the exclusive role {Role}.")]
        public static partial void Activated(ILogger logger, string role, long serverId);

        [LoggerMessage(EventId = 7506, Level = LogLevel.Information, Message = "The standby for {Key} retries: {Reason}")]
        public static partial void StandbyRetry(ILogger logger, string key, string reason);
    }
}
