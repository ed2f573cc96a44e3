using Microsoft.Extensions.Logging;
using Milvus.Domain.Components;
using Milvus.Domain.Sessions;
using Milvus.Domain.Tso;

namespace Milvus.Workers.Tso;

/// <summary>
/// The timestamp oracle and the global id allocator as one component, role <c>tso</c>. The role is exclusive
/// across the gateways that share a meta KV: the component registers an exclusive session, and only while it
/// holds the role key is it active. Then it loads both saved states first (so a timestamp after a failover is
/// above every one before it), each tick moves the clocks on, and a tick that cannot update (the meta KV is down)
/// makes it Abnormal until a good tick. While another gateway holds the role it is a StandBy that names the
/// active one (<see cref="ActiveAddress"/>) and takes over when that one's lease ends. A lost session stops it
/// issuing at once (Abnormal) until it has registered again. Without a <see cref="SessionFactory"/> it is simply
/// active.
/// </summary>
public sealed partial class TsoComponent(TimestampOracle oracle, GlobalIdAllocator ids, ILogger<TsoComponent> logger, SessionFactory? sessions = null) : ComponentBase, ITsoRole
{
    /// <summary>The role the component reports.</summary>
    public const string RoleName = "tso";

    private readonly SemaphoreSlim _roleGate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _firstOutcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Session? _session;
    private Task _election = Task.CompletedTask;
    private volatile bool _active;
    private SessionInfo? _holder;

    public override string Role => RoleName;

    /// <summary>The oracle this component drives.</summary>
    public TimestampOracle Oracle => oracle;

    /// <summary>The id allocator this component drives.</summary>
    public GlobalIdAllocator Ids => ids;

    /// <summary>Whether this process holds the role (it may still be Abnormal, see <see cref="Serves"/>).</summary>
    public bool IsActive => sessions is null || _active;

    /// <summary>
    /// Whether this process answers timestamp and id requests itself. It holds the role and is not Abnormal: an
    /// Abnormal role answers 503 from the moment its session is reported lost (before the election loop has stepped
    /// down) and while it cannot move its clock forward.
    /// </summary>
    public bool Serves => sessions is null || (_active && Tracker.State != StateCode.Abnormal);

    /// <summary>The address of the active gateway as this standby last saw it, or null when none is known.</summary>
    public string? ActiveAddress => Volatile.Read(ref _holder)?.Address;

    /// <summary>Why this gateway cannot reach an active TSO: its own role's failure when it has one (the meta KV is down), else a failover.</summary>
    public string NoActiveReason() =>
        Tracker.State == StateCode.Abnormal && Tracker.Reason is { Length: > 0 } reason
            ? $"No active TSO is known to this gateway: its TSO role is Abnormal and not ready to serve ({reason}). The gateway keeps trying by itself; retry shortly."
            : "No active TSO is known to this gateway yet (a failover may be under way); retry shortly.";

    /// <summary>Refuses to go elsewhere while this gateway holds the role but cannot serve it (it is the one to ask).</summary>
    /// <exception cref="ActiveTsoUnknownException">This gateway holds the role and is Abnormal.</exception>
    public void ThrowIfActiveButAbnormal()
    {
        if (IsActive && !Serves)
        {
            throw new ActiveTsoUnknownException(
                $"This gateway holds the TSO role but cannot serve it now ({Tracker.Reason ?? "it is not ready"}). It keeps trying by itself; retry shortly.");
        }
    }

    /// <summary>
    /// One update: moves both clocks on, or, while the saved state is not loaded, tries to load it. Does nothing
    /// on a standby. Errors other than cancellation are reported as the component's Abnormal state and logged
    /// once per change of state.
    /// </summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        await _roleGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (IsActive)
            {
                await UpdateAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _roleGate.Release();
        }
    }

    protected override Task OnInitAsync(CancellationToken cancellationToken) =>
        sessions is null ? LoadAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>Alone, serves at once; in a cluster, stays Initializing until <see cref="OnRegisterAsync"/> has run the election.</summary>
    protected override Task<StateCode> OnStartAsync(CancellationToken cancellationToken) =>
        Task.FromResult(sessions is null ? StateCode.Healthy : StateCode.Initializing);

    /// <summary>
    /// Registers the TSO's exclusive session and starts the active-standby election, as Milvus's root coordinator
    /// does in its Register.
    /// </summary>
    protected override async Task<StateCode?> OnRegisterAsync(CancellationToken cancellationToken)
    {
        if (sessions is null)
        {
            return null;
        }
        // A registration that failed (the meta KV was down) is retried by the host with the same session.
        var session = _session ??= NewSession(sessions);
        await session.InitAsync(RoleName, sessions.Address, exclusive: true, cancellationToken).ConfigureAwait(false);
        NodeId = session.ServerId;
        _election = RunElectionAsync(session, _stopping.Token);
        // Start returns once this process knows whether it is the active one or a standby, or after a TTL.
        try
        {
            await _firstOutcome.Task.WaitAsync(TimeSpan.FromSeconds(sessions.TtlSeconds), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Tracker.TryTransitionTo(StateCode.Abnormal, "Neither the TSO role nor its holder could be read within a TTL; still trying.");
        }
        return Tracker.State == StateCode.Initializing ? StateCode.Abnormal : Tracker.State;
    }

    protected override async Task OnStopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _election.ConfigureAwait(false);
        await _roleGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Stop issuing before the role key goes, so that the next active one starts above everything issued here.
            _active = false;
            oracle.ResetTimestamp();
            ids.Reset();
        }
        finally
        {
            _roleGate.Release();
        }
        if (_session is { } session)
        {
            await session.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private Session NewSession(SessionFactory factory)
    {
        var session = factory.Create();
        session.RegistrationChanged += (registered, reason) =>
        {
            if (!registered && Tracker.State is not (StateCode.Stopping or StateCode.Initializing))
            {
                Tracker.TryTransitionTo(StateCode.Abnormal, $"The TSO session is lost: {reason}");
            }
        };
        return session;
    }

    /// <summary>Active-standby, for as long as the component runs: wait to hold the role, serve while the session lives, repeat.</summary>
    private async Task RunElectionAsync(Session session, CancellationToken stopping)
    {
        try
        {
            while (true)
            {
                var live = await session.ProcessActiveStandbyAsync(OnHolderSeen, stopping).ConfigureAwait(false);
                await ActivateAsync(stopping).ConfigureAwait(false);
                _firstOutcome.TrySetResult();
                using var serving = CancellationTokenSource.CreateLinkedTokenSource(live, stopping);
                await WaitCancelledAsync(serving.Token).ConfigureAwait(false);
                stopping.ThrowIfCancellationRequested();
                await DeactivateAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down; OnStopAsync resigns.
        }
    }

    private void OnHolderSeen(SessionInfo? holder)
    {
        Volatile.Write(ref _holder, holder);
        if (holder is not null)
        {
            Tracker.SetExtra("active", holder.Address);
            if (Tracker.State != StateCode.StandBy && Tracker.TryTransitionTo(StateCode.StandBy))
            {
                Log.StandingBy(logger, holder.ServerId, holder.Address);
            }
            _firstOutcome.TrySetResult();
        }
    }

    private async Task ActivateAsync(CancellationToken cancellationToken)
    {
        await _roleGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _active = true;
            Volatile.Write(ref _holder, null);
            Tracker.SetExtra("active", sessions!.Address);
            try
            {
                await LoadAsync(cancellationToken).ConfigureAwait(false);
                Tracker.TryTransitionTo(StateCode.Healthy);
                Log.Activated(logger, oracle.PhysicalMs);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Still the holder: the next tick loads again.
                Log.UpdateFailed(logger, ex);
                Tracker.TryTransitionTo(StateCode.Abnormal, ex.Message);
            }
        }
        finally
        {
            _roleGate.Release();
        }
    }

    private async Task DeactivateAsync()
    {
        await _roleGate.WaitAsync().ConfigureAwait(false);
        try
        {
            _active = false;
            oracle.ResetTimestamp();
            ids.Reset();
            Tracker.TryTransitionTo(StateCode.Abnormal, "The TSO session was lost; this gateway stopped issuing and registers again.");
            Log.Deactivated(logger);
        }
        finally
        {
            _roleGate.Release();
        }
    }

    private async Task UpdateAsync(CancellationToken cancellationToken)
    {
        var state = Tracker.State;
        if (state is StateCode.Stopping or StateCode.Initializing)
        {
            return;
        }
        try
        {
            if (!oracle.IsReady || !ids.IsReady)
            {
                await LoadAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await oracle.UpdateTimestampAsync(cancellationToken).ConfigureAwait(false);
                await ids.UpdateAsync(cancellationToken).ConfigureAwait(false);
            }
            if (state == StateCode.Abnormal && Tracker.TryTransitionTo(StateCode.Healthy))
            {
                Log.Recovered(logger);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            if (state != StateCode.Abnormal)
            {
                Log.UpdateFailed(logger, ex);
            }
            Tracker.TryTransitionTo(StateCode.Abnormal, ex.Message);
        }
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        await oracle.InitTimestampAsync(cancellationToken).ConfigureAwait(false);
        await ids.InitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task WaitCancelledAsync(CancellationToken token)
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (token.Register(() => cancelled.TrySetResult()).ConfigureAwait(false))
        {
            await cancelled.Task.ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4301, Level = LogLevel.Error, Message = "The TSO cannot update its clocks; it is Abnormal until the meta KV answers again.")]
        public static partial void UpdateFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 4302, Level = LogLevel.Information, Message = "The TSO updates its clocks again; it is Healthy.")]
        public static partial void Recovered(ILogger logger);

        [LoggerMessage(EventId = 4303, Level = LogLevel.Information, Message = "This gateway is the active TSO; it continues from the saved window at {PhysicalMs} ms.")]
        public static partial void Activated(ILogger logger, long physicalMs);

        [LoggerMessage(EventId = 4304, Level = LogLevel.Information, Message = "This gateway stands by; the active TSO is server {ServerId} at {Address}.")]
        public static partial void StandingBy(ILogger logger, long serverId, string address);

        [LoggerMessage(EventId = 4305, Level = LogLevel.Warning, Message = "The TSO session was lost; this gateway stopped issuing timestamps and ids.")]
        public static partial void Deactivated(ILogger logger);
    }
}
