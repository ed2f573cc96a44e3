namespace Milvus.Domain.Components;

/// <summary>
/// Shared life-cycle plumbing for components: a state tracker, and the Initializing → Healthy → Stopping path
/// around the subclass's own work. A failure in Init, Start or Register leaves the component Abnormal and is
/// rethrown.
/// </summary>
public abstract class ComponentBase : IComponent
{
    /// <summary>The component's state.</summary>
    public ComponentStateTracker Tracker { get; } = new();

    public abstract string Role { get; }

    /// <summary>The node id reported with the state; set once the session knows it.</summary>
    public long NodeId { get; set; }

    /// <summary>The channel on which the gateway publishes its statistics; set by the <see cref="ComponentRegistry"/>.</summary>
    public string StatisticsChannel { get; internal set; } = StatisticsOptions.DefaultChannel;

    public async Task InitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await OnInitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Tracker.TryTransitionTo(StateCode.Abnormal, ex.Message);
            throw;
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var state = await OnStartAsync(cancellationToken).ConfigureAwait(false);
            Tracker.TryTransitionTo(state);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Tracker.TryTransitionTo(StateCode.Abnormal, ex.Message);
            throw;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Tracker.TryTransitionTo(StateCode.Stopping);
        await OnStopAsync(cancellationToken).ConfigureAwait(false);
    }

    public virtual Task<ComponentStates> GetComponentStatesAsync(CancellationToken cancellationToken)
    {
        var info = Tracker.ToInfo(NodeId, Role);
        var status = info.StateCode is StateCode.Healthy or StateCode.StandBy
            ? Status.Success
            : new Status(ErrorCode.NotReady, Tracker.Reason.Length > 0 ? Tracker.Reason : $"{Role} is {info.StateCode}");
        return Task.FromResult(new ComponentStates(info, [], status));
    }

    /// <summary>The gateway's statistics channel: every component of a gateway reports through the gateway's one publisher.</summary>
    public Task<string> GetStatisticsChannelAsync(CancellationToken cancellationToken) => Task.FromResult(StatisticsChannel);

    public async Task RegisterAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await OnRegisterAsync(cancellationToken).ConfigureAwait(false) is { } state)
            {
                Tracker.TryTransitionTo(state);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Tracker.TryTransitionTo(StateCode.Abnormal, ex.Message);
            throw;
        }
    }

    /// <summary>Prepares the component.</summary>
    protected virtual Task OnInitAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Starts the component and returns the state it starts in (Healthy unless it is a standby).</summary>
    protected virtual Task<StateCode> OnStartAsync(CancellationToken cancellationToken) => Task.FromResult(StateCode.Healthy);

    /// <summary>
    /// Registers the component with service discovery, after it has started, and returns the state it is in then
    /// (null: the state Start left). Components without a session of their own do nothing.
    /// </summary>
    protected virtual Task<StateCode?> OnRegisterAsync(CancellationToken cancellationToken) => Task.FromResult<StateCode?>(null);

    /// <summary>Stops the component.</summary>
    protected virtual Task OnStopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
