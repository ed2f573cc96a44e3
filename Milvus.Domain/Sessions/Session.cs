using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Milvus.Domain.Kv;

namespace Milvus.Domain.Sessions;

/// <summary>
/// A service's registration in the meta KV (seed A.2). <see cref="InitAsync"/> takes a server id from the counter
/// at <c>session/id</c>, puts the registration JSON under <c>session/&lt;name&gt;-&lt;id&gt;</c> if it is absent,
/// bound to a lease of the TTL, and keeps the lease alive in the background. The returned token is the live
/// signal: it is cancelled when the registration is lost (no refresh succeeded within a TTL, or the lease is
/// gone). The session then registers again, with a new lease, as soon as the store answers;
/// <see cref="RegistrationChanged"/> reports both moves.
/// </summary>
/// <remarks>
/// An exclusive role (the TSO) is held through the key <c>session/&lt;name&gt;</c>, without the id: every
/// candidate registers under its id as usual, and <see cref="ProcessActiveStandbyAsync"/> puts the role key with
/// the same lease when it is free, or watches it until it is. <see cref="StopAsync"/> is the graceful end (the
/// registration is marked stopping, then its lease revoked); <see cref="DisposeAsync"/> only stops refreshing,
/// as a crash would, and the lease runs out by itself.
/// </remarks>
public sealed partial class Session : IAsyncDisposable
{
    private static readonly TimeSpan MinRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);

    private readonly IMetaKv _kv;
    private readonly long _ttlSeconds;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ServiceDiscovery _discovery;
    private readonly ActiveStandby _activeStandby;
    private readonly LeaseJournal? _journal;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private CancellationTokenSource _live = Cancelled();
    private TaskCompletionSource _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;
    private SessionInfo? _info;
    private long _leaseId;
    private string? _activeJson;
    private int _disposed;

    /// <param name="kv">The meta KV: etcd, or the embedded store.</param>
    /// <param name="ttlSeconds">The lease's time to live (<c>Milvus:Session:TtlSeconds</c>).</param>
    /// <param name="timeProvider">The clock of the keep-alive deadlines and retries.</param>
    /// <param name="loggerFactory">Where losses and re-registrations are logged.</param>
    /// <param name="journal">Where granted leases are remembered, so that a restart revokes them at once.</param>
    public Session(IMetaKv kv, int ttlSeconds, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, LeaseJournal? journal = null)
    {
        ArgumentNullException.ThrowIfNull(kv);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ttlSeconds);
        _kv = kv;
        _ttlSeconds = ttlSeconds;
        _time = timeProvider ?? TimeProvider.System;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger<Session>();
        _discovery = new ServiceDiscovery(kv, loggerFactory.CreateLogger<ServiceDiscovery>());
        _activeStandby = new ActiveStandby(this, kv, _time, loggerFactory.CreateLogger<ActiveStandby>());
        _journal = journal;
        var third = TimeSpan.FromSeconds(ttlSeconds) / 6;
        RetryDelay = third < MinRetryDelay ? MinRetryDelay : third > MaxRetryDelay ? MaxRetryDelay : third;
    }

    /// <summary>The seed's constructor: a session that is not registered yet.</summary>
    public static Session NewSession(IMetaKv kv, int ttlSeconds, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, LeaseJournal? journal = null) =>
        new(kv, ttlSeconds, timeProvider, loggerFactory, journal);

    /// <summary>Raised when the registration is made (true) or lost (false), with the reason of a loss.</summary>
    public event Action<bool, string>? RegistrationChanged;

    /// <summary>The pause between two attempts to refresh or to register again: a sixth of the TTL, within 0.1 to 1 s.</summary>
    public TimeSpan RetryDelay { get; }

    /// <summary>This session's registration, once <see cref="InitAsync"/> has run.</summary>
    public SessionInfo? Info
    {
        get
        {
            lock (_gate)
            {
                return _info;
            }
        }
    }

    /// <summary>The server id, or 0 before <see cref="InitAsync"/>.</summary>
    public long ServerId => Info?.ServerId ?? 0;

    /// <summary>The lease the registration is bound to now, or 0.</summary>
    public long LeaseId
    {
        get
        {
            lock (_gate)
            {
                return _leaseId;
            }
        }
    }

    /// <summary>Whether the registration stands (its lease is being kept alive).</summary>
    public bool IsRegistered
    {
        get
        {
            lock (_gate)
            {
                return !_live.IsCancellationRequested;
            }
        }
    }

    /// <summary>
    /// Takes a server id, registers, and starts keeping the lease alive. Returns the live signal of this
    /// registration: a token cancelled when it is lost or the session stops. When it fails, the session is left
    /// uninitialized, so the call can be made again once the store answers.
    /// </summary>
    /// <exception cref="KvUnavailableException">The meta KV does not answer.</exception>
    /// <exception cref="SessionConflictException">The registration key is taken.</exception>
    public async Task<CancellationToken> InitAsync(string serverName, string address, bool exclusive, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serverName);
        ArgumentNullException.ThrowIfNull(address);
        if (serverName.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException("A server name must not contain '/'.", nameof(serverName));
        }
        lock (_gate)
        {
            if (_info is not null)
            {
                throw new InvalidOperationException("The session is already initialized.");
            }
            _info = new SessionInfo("", 0, serverName, address, exclusive, Stopping: false);
        }
        try
        {
            var id = await AllocateServerIdAsync(_kv, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                _info = _info with { Key = $"{serverName}-{id.ToString(CultureInfo.InvariantCulture)}", ServerId = id };
            }
            await RegisterAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Nothing stands: the caller may call InitAsync again (with a new server id) once the store answers.
            lock (_gate)
            {
                _info = null;
            }
            throw;
        }
        _loop = RunAsync(_stopping.Token);
        lock (_gate)
        {
            return _live.Token;
        }
    }

    /// <summary>
    /// The next server id: the counter at <c>session/id</c> (0 when absent) plus one, written with a
    /// compare-and-swap that is retried until it wins, so concurrent callers all get different ids.
    /// </summary>
    public static async Task<long> AllocateServerIdAsync(IMetaKv kv, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kv);
        while (true)
        {
            string? current;
            try
            {
                current = await kv.LoadAsync(SessionCodec.IdKey, cancellationToken).ConfigureAwait(false);
            }
            catch (KvKeyNotFoundException)
            {
                current = null;
            }
            if (current is null)
            {
                if (await kv.CompareVersionAndSwapAsync(SessionCodec.IdKey, 0, "1", cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    return 1;
                }
                continue;
            }
            if (!long.TryParse(current, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                throw new SessionConflictException($"The server id counter at '{SessionCodec.IdKey}' holds '{current}', which is not a number.");
            }
            var next = value + 1;
            if (await kv.CompareValueAndSwapAsync(SessionCodec.IdKey, current, next.ToString(CultureInfo.InvariantCulture), cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                return next;
            }
        }
    }

    /// <inheritdoc cref="ServiceDiscovery.GetSessionsAsync"/>
    public Task<SessionList> GetSessionsAsync(string prefix, CancellationToken cancellationToken = default) =>
        _discovery.GetSessionsAsync(prefix, cancellationToken);

    /// <inheritdoc cref="ServiceDiscovery.WatchServicesAsync"/>
    public Task<IAsyncEnumerable<SessionEvent>> WatchServicesAsync(string prefix, long revision, CancellationToken cancellationToken = default) =>
        _discovery.WatchServicesAsync(prefix, revision, cancellationToken);

    /// <summary>
    /// One attempt to take the exclusive role: puts <c>session/&lt;name&gt;</c> with this session's lease if the
    /// key is absent. Returns whether this session now holds the role (see <see cref="ActiveStandby"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The session is not exclusive or not registered.</exception>
    public Task<bool> TryClaimActiveAsync(CancellationToken cancellationToken = default) => _activeStandby.TryClaimAsync(cancellationToken);

    /// <summary>
    /// Active-standby (Milvus's <c>ProcessActiveStandBy</c>): waits until this session holds its exclusive role, and
    /// returns the live signal of the registration that holds it (see <see cref="ActiveStandby"/>).
    /// </summary>
    public Task<CancellationToken> ProcessActiveStandbyAsync(Action<SessionInfo?> onActiveChanged, CancellationToken cancellationToken) =>
        _activeStandby.ProcessAsync(onActiveChanged, cancellationToken);

    /// <summary>Rewrites the registration (and the role key, when held) with <c>Stopping = true</c>; Update events follow.</summary>
    public async Task MarkStoppingAsync(CancellationToken cancellationToken = default)
    {
        SessionInfo info;
        long lease;
        string? active;
        lock (_gate)
        {
            if (_info is not { ServerId: > 0 } || _live.IsCancellationRequested)
            {
                return;
            }
            _info = _info with { Stopping = true };
            info = _info;
            lease = _leaseId;
            active = _activeJson;
        }
        await _kv.SaveWithLeaseAsync(SessionCodec.ServiceRoot + info.Key, SessionCodec.Encode(info), lease, cancellationToken).ConfigureAwait(false);
        if (active is not null)
        {
            await _kv.CompareValueAndSwapAsync(ActiveStandby.ActiveKey(info), active, SessionCodec.Encode(info with { Key = info.ServerName }), lease, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The graceful end: marks the registration stopping, stops the keep-alive, and revokes the lease, so the
    /// registration (and the role it holds) goes at once instead of after a TTL. A store that does not answer is
    /// logged; the lease then ends by itself.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await MarkStoppingAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (KvException e)
        {
            Log.StopFailed(_logger, e.Message);
        }
        await EndLoopAsync().ConfigureAwait(false);
        var lease = LeaseId;
        if (lease != 0)
        {
            try
            {
                await _kv.RevokeAsync(lease, cancellationToken).ConfigureAwait(false);
            }
            catch (KvException e)
            {
                Log.StopFailed(_logger, e.Message);
            }
        }
        await MarkLostAsync("the session stopped").ConfigureAwait(false);
    }

    /// <summary>Stops refreshing the lease without revoking it, as a crash would: the registration expires after its TTL.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await EndLoopAsync().ConfigureAwait(false);
        CancellationTokenSource live;
        lock (_gate)
        {
            live = _live;
        }
        await live.CancelAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task EndLoopAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
        await _loop.ConfigureAwait(false);
    }

    /// <summary>Frees a lease left from before an outage, then registers with a new one.</summary>
    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        SessionInfo info;
        long old;
        lock (_gate)
        {
            info = _info!;
            old = _leaseId;
        }
        if (old != 0)
        {
            // etcd restores leases after a restart; the old one would hold the key for another TTL.
            await _kv.RevokeAsync(old, cancellationToken).ConfigureAwait(false);
        }
        if (_journal is not null)
        {
            await _journal.RevokePreviousAsync(_kv, cancellationToken).ConfigureAwait(false);
        }
        var lease = await _kv.GrantAsync(_ttlSeconds, cancellationToken).ConfigureAwait(false);
        if (_journal is not null)
        {
            await _journal.RecordAsync(lease, cancellationToken).ConfigureAwait(false);
        }
        var key = SessionCodec.ServiceRoot + info.Key;
        if (!await _kv.CompareVersionAndSwapAsync(key, 0, SessionCodec.Encode(info), lease, cancellationToken).ConfigureAwait(false))
        {
            await _kv.RevokeAsync(lease, cancellationToken).ConfigureAwait(false);
            throw new SessionConflictException($"The session key '{key}' is already registered.");
        }
        lock (_gate)
        {
            // The previous source is left to the collector: callers may still hold its (cancelled) token.
            _leaseId = lease;
            _live = new CancellationTokenSource();
            _registered.TrySetResult();
        }
        Log.Registered(_logger, key, lease, _ttlSeconds);
        RegistrationChanged?.Invoke(true, "");
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            while (true)
            {
                var reason = await KeepAliveUntilLostAsync(stopping).ConfigureAwait(false);
                await MarkLostAsync(reason).ConfigureAwait(false);
                await RegisterAgainAsync(stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopped.
        }
        catch (Exception e)
        {
            // The loop cannot go on (for example, the store was disposed under it); the session stays lost.
            Log.LoopFailed(_logger, e);
            await MarkLostAsync(e.Message).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Keeps the lease alive, retrying a refresh that fails, until the lease is gone or no refresh has succeeded
    /// within a TTL less a margin (a tenth of it, at most a second): the session gives up before the store can end the
    /// lease, so that what this process holds under it stops before another process can take it over. Returns why the
    /// registration is lost.
    /// </summary>
    private async Task<string> KeepAliveUntilLostAsync(CancellationToken stopping)
    {
        var lease = LeaseId;
        static TimeSpan Within(long ttlSeconds) => TimeSpan.FromSeconds(Math.Max(0.05, ttlSeconds - Math.Min(1.0, ttlSeconds / 10.0)));
        var deadline = _time.GetUtcNow() + Within(_ttlSeconds);
        while (true)
        {
            var left = deadline - _time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return "no keep-alive succeeded within the TTL";
            }
            using var watchdog = new CancellationTokenSource(left, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, watchdog.Token);
            try
            {
                await foreach (var refresh in _kv.KeepAliveAsync(lease, linked.Token).ConfigureAwait(false))
                {
                    deadline = _time.GetUtcNow() + Within(refresh.TtlSeconds);
                    watchdog.CancelAfter(Within(refresh.TtlSeconds));
                }
                return "the keep-alive stream ended";
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException)
            {
                return "no keep-alive succeeded within the TTL";
            }
            catch (KvLeaseNotFoundException)
            {
                return "the lease has expired";
            }
            catch (KvUnavailableException e)
            {
                Log.KeepAliveRetry(_logger, lease, e.Message);
                var pause = deadline - _time.GetUtcNow();
                if (pause > RetryDelay)
                {
                    pause = RetryDelay;
                }
                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause, _time, stopping).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task RegisterAgainAsync(CancellationToken stopping)
    {
        while (true)
        {
            await Task.Delay(RetryDelay, _time, stopping).ConfigureAwait(false);
            try
            {
                await RegisterAsync(stopping).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is KvException or SessionConflictException)
            {
                Log.RegisterRetry(_logger, Info?.Key ?? "", e.Message);
            }
        }
    }

    private async Task MarkLostAsync(string reason)
    {
        CancellationTokenSource live;
        lock (_gate)
        {
            live = _live;
            if (live.IsCancellationRequested)
            {
                return;
            }
            _activeJson = null;
            _registered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        Log.Lost(_logger, Info?.Key ?? "", reason);
        await live.CancelAsync().ConfigureAwait(false);
        RegistrationChanged?.Invoke(false, reason);
    }

    /// <summary>This exclusive session's registration and live lease.</summary>
    /// <exception cref="InvalidOperationException">The session is not exclusive, not initialized or not registered.</exception>
    internal (SessionInfo Info, long LeaseId) LiveExclusiveRegistration()
    {
        lock (_gate)
        {
            var info = _info is { Exclusive: true, ServerId: > 0 } own ? own : throw new InvalidOperationException("Only an initialized exclusive session can hold a role.");
            return (info, !_live.IsCancellationRequested ? _leaseId : throw new InvalidOperationException("The session is not registered."));
        }
    }

    /// <summary>Records that the role key holds <paramref name="json"/> under <paramref name="leaseId"/>, if that lease is still this session's.</summary>
    internal void HoldsRole(long leaseId, string json)
    {
        lock (_gate)
        {
            _activeJson = leaseId == _leaseId ? json : null;
        }
    }

    /// <summary>The live signal of the current registration, once there is one.</summary>
    internal async Task<CancellationToken> WaitRegisteredAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task registered;
            lock (_gate)
            {
                if (!_live.IsCancellationRequested)
                {
                    return _live.Token;
                }
                registered = _registered.Task;
            }
            await registered.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static CancellationTokenSource Cancelled()
    {
        var source = new CancellationTokenSource();
        source.Cancel();
        return source;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7501, Level = LogLevel.Information, Message = "Registered {Key} with lease {LeaseId} (TTL {TtlSeconds} s).")]
        public static partial void Registered(ILogger logger, string key, long leaseId, long ttlSeconds);

        [LoggerMessage(EventId = 7502, Level = LogLevel.Warning, Message = "The session {Key} is lost: {Reason}. It registers again when the meta KV answers.")]
        public static partial void Lost(ILogger logger, string key, string reason);

        [LoggerMessage(EventId = 7503, Level = LogLevel.Debug, Message = "Refreshing lease {LeaseId} failed ({Reason}); retrying within the TTL.")]
        public static partial void KeepAliveRetry(ILogger logger, long leaseId, string reason);

        [LoggerMessage(EventId = 7504, Level = LogLevel.Debug, Message = "Registering {Key} again failed ({Reason}); retrying.")]
        public static partial void RegisterRetry(ILogger logger, string key, string reason);


        [LoggerMessage(EventId = 7507, Level = LogLevel.Warning, Message = "The session could not end cleanly: {Reason}. Its lease ends by itself.")]
        public static partial void StopFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 7508, Level = LogLevel.Error, Message = "The session keep-alive loop failed; the session stays lost.")]
        public static partial void LoopFailed(ILogger logger, Exception exception);
    }
}
