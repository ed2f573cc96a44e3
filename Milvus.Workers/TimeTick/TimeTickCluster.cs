using System.Globalization;
using Milvus.Domain.Kv;
using Milvus.Domain.Sessions;
using Milvus.Workers.Sessions;
using Milvus.Workers.Tso;

namespace Milvus.Workers.TimeTick;

/// <summary>
/// The gateways' side of one cluster-wide time tick (what Milvus's root coordinator does with its proxies' ticks).
/// The gateway that serves the TSO role is the ticker. Every other gateway reports its safe tick (the highest
/// timestamp below every produce it has in flight; everything it writes later is above it) under
/// <c>timetick/gateways/&lt;serverId&gt;</c>, bound to its session lease, so a dead gateway drops out when its lease
/// ends and one that stops gracefully withdraws at once. The ticker ticks no further than the lowest report of the
/// live gateways, and not at all while a live gateway has not reported yet: a gateway allocates no timestamp
/// before its session is registered, and the ticker allocates its own before it lists the sessions, so a gateway
/// it does not see yet writes only above the tick.
/// </summary>
public sealed class TimeTickCluster(IMetaKv meta, ServiceDiscovery discovery, TsoComponent tso, GatewaySessionComponent gateway)
{
    /// <summary>Where the gateways' reports live, under the meta KV's root path.</summary>
    public const string ReportPrefix = "timetick/gateways/";

    /// <summary>Whether this gateway sends the ticks (it serves the TSO role).</summary>
    public bool IsTicker => tso.Serves;

    /// <summary>The ticking gateway's address as this one last saw it, or null.</summary>
    public string? TickerAddress => tso.IsActive ? gateway.Session.Info?.Address : tso.ActiveAddress;

    /// <summary>Stores this gateway's safe tick under its session lease.</summary>
    /// <exception cref="InvalidOperationException">The gateway's session is not registered.</exception>
    public Task ReportAsync(ulong safeTick, CancellationToken cancellationToken)
    {
        var session = gateway.Session;
        if (!session.IsRegistered)
        {
            throw new InvalidOperationException("This gateway's session is not registered, so it cannot report its time tick.");
        }
        return meta.SaveWithLeaseAsync(ReportKey(session.ServerId), safeTick.ToString(CultureInfo.InvariantCulture), session.LeaseId, cancellationToken);
    }

    /// <summary>Removes this gateway's report (it stops, or it became the ticker).</summary>
    public Task WithdrawAsync(CancellationToken cancellationToken) =>
        gateway.Session.ServerId is var id and > 0 ? meta.RemoveAsync(ReportKey(id), cancellationToken) : Task.CompletedTask;

    /// <summary>
    /// The lowest safe tick of the other live gateways (<see cref="ulong.MaxValue"/> when there are none), or the key
    /// of a live gateway that has not reported yet, which holds every tick back.
    /// </summary>
    public async Task<(ulong Bound, string? Waiting, int Gateways)> OthersAsync(CancellationToken cancellationToken)
    {
        var live = await discovery.GetSessionsAsync(GatewaySessionComponent.ServerName + "-", cancellationToken).ConfigureAwait(false);
        var reports = await meta.LoadWithPrefixAsync(ReportPrefix, cancellationToken).ConfigureAwait(false);
        var byId = new Dictionary<long, ulong>();
        for (var i = 0; i < reports.Count; i++)
        {
            if (long.TryParse(reports.Keys[i].AsSpan(ReportPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                && ulong.TryParse(reports.Values[i], NumberStyles.None, CultureInfo.InvariantCulture, out var tick))
            {
                byId[id] = tick;
            }
        }
        var self = gateway.Session.ServerId;
        var bound = ulong.MaxValue;
        var others = 0;
        foreach (var session in live.Sessions)
        {
            if (session.ServerName != GatewaySessionComponent.ServerName || session.ServerId == self)
            {
                continue;
            }
            if (!byId.TryGetValue(session.ServerId, out var tick))
            {
                return (0, session.Key, others);
            }
            bound = Math.Min(bound, tick);
            others++;
        }
        return (bound, null, others);
    }

    private static string ReportKey(long serverId) => ReportPrefix + serverId.ToString(CultureInfo.InvariantCulture);
}
