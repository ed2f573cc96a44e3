using System.Globalization;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Kv;
using Milvus.Domain.Sessions;

namespace Milvus.Domain.Archive;

/// <summary>
/// Which gateway archives each channel: one at a time, recorded in the meta KV under
/// <c>archive-claims/&lt;channel&gt;</c> (the holder's server id) and bound to the holder's session lease, so that a
/// dead holder's channels go to the others when its lease ends. Each sync a gateway works out its share of the channels
/// (an even split over the live gateways in server id order, the first ones taking one more while some are left over,
/// so the shares add up to the channels), claims unclaimed ones up to it (put-if-absent) and lets go of what it holds
/// beyond it: the channels spread evenly and move back when a gateway joins.
/// </summary>
/// <param name="meta">The meta KV that holds the claims.</param>
/// <param name="discovery">Lists the live gateways.</param>
/// <param name="session">This gateway's session: its server id names the claims, and its lease binds them.</param>
/// <param name="serverName">The server name every gateway registers under (its sessions are <c>&lt;serverName&gt;-&lt;id&gt;</c>).</param>
/// <param name="logger">The logger.</param>
public sealed partial class ArchiveClaims(IMetaKv meta, ServiceDiscovery discovery, Session session, string serverName, ILogger<ArchiveClaims> logger)
{
    /// <summary>
    /// Calls <paramref name="stop"/> whenever this gateway's session is lost: its claims go with the lease, so another
    /// gateway may start archiving its channels, and its own graphs must stop at once rather than at the next sync.
    /// </summary>
    public void WhenLost(Func<Task> stop)
    {
        ArgumentNullException.ThrowIfNull(stop);
        session.RegistrationChanged += (registered, reason) =>
        {
            if (!registered)
            {
                Log.Lost(logger, reason);
                _ = stop();
            }
        };
    }

    /// <summary>Where the claims live, under the meta KV's root path.</summary>
    public const string Prefix = "archive-claims/";

    /// <summary>
    /// The channels of <paramref name="channels"/> that this gateway archives now, after claiming up to its share, and
    /// those it holds beyond its share: the caller stops their graphs and then hands them back with
    /// <see cref="ReleaseAsync"/> (in that order, so that two graphs never read one channel). Nothing while its session
    /// is not registered.
    /// </summary>
    /// <exception cref="KvUnavailableException">The meta KV does not answer.</exception>
    public async Task<(IReadOnlySet<string> Keep, IReadOnlyList<string> LetGo)> SettleAsync(IReadOnlySet<string> channels, CancellationToken cancellationToken)
    {
        if (!session.IsRegistered)
        {
            return (new HashSet<string>(StringComparer.Ordinal), []);
        }
        var self = session.ServerId.ToString(CultureInfo.InvariantCulture);
        var live = (await discovery.GetSessionsAsync(serverName + "-", cancellationToken).ConfigureAwait(false))
            .Sessions.Where(s => s.ServerName == serverName).Select(s => s.ServerId).Order().ToList();
        var share = ShareOf(channels.Count, live, session.ServerId);
        var records = await meta.LoadWithPrefixAsync(Prefix, cancellationToken).ConfigureAwait(false);
        var claimed = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < records.Count; i++)
        {
            claimed[records.Keys[i][Prefix.Length..]] = records.Values[i];
        }
        var held = new SortedSet<string>(claimed.Where(c => c.Value == self).Select(c => c.Key), StringComparer.Ordinal);
        foreach (var gone in held.Where(c => !channels.Contains(c)).ToList())
        {
            await meta.RemoveAsync(Prefix + gone, cancellationToken).ConfigureAwait(false);
            held.Remove(gone);
        }
        var letGo = new List<string>();
        while (held.Count > share)
        {
            var extra = held.Max!;
            held.Remove(extra);
            letGo.Add(extra);
            Log.LetGo(logger, extra, share);
        }
        foreach (var channel in channels.Where(c => !claimed.ContainsKey(c)).Order(StringComparer.Ordinal))
        {
            if (held.Count >= share)
            {
                break;
            }
            if (await meta.CompareVersionAndSwapAsync(Prefix + channel, 0, self, session.LeaseId, cancellationToken).ConfigureAwait(false))
            {
                held.Add(channel);
                Log.Claimed(logger, channel);
            }
        }
        return (held, letGo);
    }

    /// <summary>
    /// How many of <paramref name="channels"/> the gateway <paramref name="self"/> archives among the <paramref name="live"/>
    /// ones (in server id order): an even split, the first ones taking one more while some are left over.
    /// </summary>
    internal static int ShareOf(int channels, List<long> live, long self)
    {
        var rank = live.IndexOf(self);
        if (rank < 0)
        {
            return 0;
        }
        return channels / live.Count + (rank < channels % live.Count ? 1 : 0);
    }

    /// <summary>Removes this gateway's claims of <paramref name="channels"/>, whose graphs have stopped, so the others take them at once.</summary>
    public async Task ReleaseAsync(IEnumerable<string> channels, CancellationToken cancellationToken)
    {
        var self = session.ServerId.ToString(CultureInfo.InvariantCulture);
        foreach (var channel in channels)
        {
            try
            {
                // Only our own claim; it lives as long as our lease, so it cannot change hands between the read and the removal.
                if (await meta.LoadAsync(Prefix + channel, cancellationToken).ConfigureAwait(false) == self)
                {
                    await meta.RemoveAsync(Prefix + channel, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (KvKeyNotFoundException)
            {
                // Gone already.
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.ReleaseFailed(logger, ex, channel);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 8201, Level = LogLevel.Information, Message = "This gateway archives channel {Channel} now.")]
        public static partial void Claimed(ILogger logger, string channel);

        [LoggerMessage(EventId = 8202, Level = LogLevel.Information, Message = "This gateway lets go of channel {Channel}: it holds more than its share of {Share} channels.")]
        public static partial void LetGo(ILogger logger, string channel, int share);

        [LoggerMessage(EventId = 8204, Level = LogLevel.Warning, Message = "This gateway lost its session ({Reason}); its archive claims go with the lease, and its graphs stop.")]
        public static partial void Lost(ILogger logger, string reason);

        [LoggerMessage(EventId = 8203, Level = LogLevel.Warning, Message = "The archive claim of channel {Channel} could not be released at stop; it goes with the session lease.")]
        public static partial void ReleaseFailed(ILogger logger, Exception exception, string channel);
    }
}
