using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain;
using Milvus.Domain.Allocation;
using Milvus.Domain.Params;
using Milvus.Domain.Sessions;
using Milvus.Domain.Tso;
using Milvus.Workers.Sessions;
using Milvus.Workers.Tso.Http;

namespace Milvus.Workers.Tso;

/// <summary>
/// The gateway's timestamps for its own use (seed A.6.3): the in-process oracle while this gateway serves the TSO
/// role, otherwise batches from the active gateway through a client-side <see cref="TimestampAllocator"/>. Every
/// route, worker and service that needs a timestamp takes this as its <see cref="ITimestampAllocator"/>, so that a
/// standby produces, ticks and archives like the active gateway. Within this process the timestamps it hands out
/// increase (a failover excepted, which <c>InFlightTimestamps</c> refuses): the remote cache is dropped whenever
/// the local oracle answers, so an older batch is never handed out after a newer local timestamp.
/// </summary>
public sealed class ClusterTimestampAllocator : ITimestampAllocator, IAsyncDisposable
{
    /// <summary>
    /// How long a batch from the active gateway is handed out: short, because a standby's time tick report is as old
    /// as the timestamp it is made from, and the cluster's ticks wait for the oldest report.
    /// </summary>
    public static readonly TimeSpan RemoteMaxAge = TimeSpan.FromMilliseconds(10);

    private readonly TsoComponent _tso;
    private readonly GatewaySessionComponent? _gateway;
    private readonly TimestampAllocator _remote;
    private int _remoteUsed;

    /// <param name="tso">The TSO role: local while it serves.</param>
    /// <param name="active">The active gateway, for a standby.</param>
    /// <param name="time">The clock that ages the remote batches.</param>
    /// <param name="logger">Where failed remote fetches are logged.</param>
    /// <param name="gateway">
    /// The gateway's session: a standby takes no timestamp while it is not registered, because the cluster's time
    /// tick counts only the produces of gateways whose session it sees (<c>TimeTickCluster</c>).
    /// </param>
    public ClusterTimestampAllocator(TsoComponent tso, ActiveTsoSource active, TimeProvider time, ILogger<TimestampAllocator> logger, GatewaySessionComponent? gateway = null)
    {
        _tso = tso;
        _gateway = gateway;
        _remote = new TimestampAllocator(active, time, RemoteMaxAge, logger: logger);
        _remote.Start();
    }

    public ValueTask<HybridTimestamp> AllocAsync(uint count, CancellationToken cancellationToken = default)
    {
        if (_tso.Serves)
        {
            if (Volatile.Read(ref _remoteUsed) != 0 && Interlocked.Exchange(ref _remoteUsed, 0) != 0)
            {
                _remote.CleanCache();
            }
            return _tso.Oracle.GenerateTsoAsync(count, cancellationToken);
        }
        _tso.ThrowIfActiveButAbnormal();
        if (_gateway is { Session.IsRegistered: false })
        {
            throw new ActiveTsoUnknownException("This gateway's session is not registered (the meta KV may be unreachable), so it takes no timestamps; it registers again by itself, retry shortly.");
        }
        Volatile.Write(ref _remoteUsed, 1);
        return _remote.AllocAsync(count, cancellationToken);
    }

    public ValueTask<HybridTimestamp> AllocOneAsync(CancellationToken cancellationToken = default) => AllocAsync(1, cancellationToken);

    public ValueTask DisposeAsync() => _remote.DisposeAsync();
}

/// <summary>
/// The gateway's ids for its own use (seed A.6): the in-process global allocator while this gateway serves the TSO
/// role, otherwise ranges prefetched from the active gateway through a client-side <see cref="IdAllocator"/>. Ids
/// never repeat whichever way they come, so the remote cache is kept across a failover.
/// </summary>
public sealed class ClusterIdAllocator : IIdAllocator, IAsyncDisposable
{
    private readonly TsoComponent _tso;
    private readonly IdAllocator _remote;

    public ClusterIdAllocator(TsoComponent tso, ActiveTsoSource active, ILogger<IdAllocator> logger)
    {
        _tso = tso;
        _remote = new IdAllocator(active.Ids, logger: logger);
        _remote.Start();
    }

    public ValueTask<IdRange> AllocAsync(uint count, CancellationToken cancellationToken = default)
    {
        if (_tso.Serves)
        {
            return _tso.Ids.AllocAsync(count, cancellationToken);
        }
        _tso.ThrowIfActiveButAbnormal();
        return _remote.AllocAsync(count, cancellationToken);
    }

    public async ValueTask<long> AllocOneAsync(CancellationToken cancellationToken = default) =>
        (await AllocAsync(1, cancellationToken).ConfigureAwait(false)).Begin;

    public ValueTask DisposeAsync() => _remote.DisposeAsync();
}

/// <summary>
/// The active gateway's <c>/api/v1/tso</c> and <c>/api/v1/ids</c> as a source for the client-side allocators of a
/// standby. The request is marked as forwarded (the active one never forwards it again) and carries the first
/// configured API key, since the gateways of one cluster share their configuration.
/// </summary>
public sealed class ActiveTsoSource(TsoComponent tso, IOptions<AuthOptions> auth) : ITimestampAllocator, IDisposable
{
    private readonly SocketsHttpHandler _handler = new() { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) };
    private readonly Lock _gate = new();
    private (string Address, GatewayAllocationClient Client, HttpClient Http)? _current;

    /// <summary>The same source, for ids.</summary>
    public IIdAllocator Ids => new IdSource(this);

    public async ValueTask<HybridTimestamp> AllocAsync(uint count, CancellationToken cancellationToken = default) =>
        await Client().AllocAsync(count, cancellationToken).ConfigureAwait(false);

    public ValueTask<HybridTimestamp> AllocOneAsync(CancellationToken cancellationToken = default) => AllocAsync(1, cancellationToken);

    public void Dispose()
    {
        lock (_gate)
        {
            _current?.Http.Dispose();
            _current = null;
        }
        _handler.Dispose();
    }

    /// <summary>A client of the gateway that holds the role now; made again when the holder changes.</summary>
    private GatewayAllocationClient Client()
    {
        var address = tso.ActiveAddress ?? throw new ActiveTsoUnknownException(tso.NoActiveReason());
        lock (_gate)
        {
            if (_current is { } current && current.Address == address)
            {
                return current.Client;
            }
            var http = new HttpClient(_handler, disposeHandler: false) { BaseAddress = new Uri(address.TrimEnd('/') + "/"), Timeout = ClusterForwarding.Timeout };
            http.DefaultRequestHeaders.Add(ClusterForwarding.Header, tso.NodeId.ToString(CultureInfo.InvariantCulture));
            if (auth.Value.ApiKeys.FirstOrDefault(k => !string.IsNullOrEmpty(k)) is { } key)
            {
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }
            // The previous client is left to the collector: a call may still be using it, and the handler is shared.
            _current = (address, new GatewayAllocationClient(http), http);
            return _current.Value.Client;
        }
    }

    private sealed class IdSource(ActiveTsoSource source) : IIdAllocator
    {
        public async ValueTask<IdRange> AllocAsync(uint count, CancellationToken cancellationToken = default) =>
            await source.Client().AllocIdsAsync(count, cancellationToken).ConfigureAwait(false);

        public async ValueTask<long> AllocOneAsync(CancellationToken cancellationToken = default) =>
            (await AllocAsync(1, cancellationToken).ConfigureAwait(false)).Begin;
    }
}

/// <summary>This standby knows no active TSO to ask (a failover may be under way); the HTTP layer answers 503.</summary>
public sealed class ActiveTsoUnknownException(string message) : Exception(message), IMilvusError
{
    public ErrorKind Kind => ErrorKind.Unavailable;
}
