namespace Milvus.Domain.Components;

/// <summary>
/// Shared life-cycle plumbing for components: a state tracker, and the Initializing → Healthy → Stopping path
/// around the subclass's own work. A failure in Init or Start leaves the component Abnormal and is rethrown.
/// </summary>
public abstract class ComponentBase : IComponent
{
    /// <summary>The component's state.</summary>
    public ComponentStateTracker Tracker { get; } = new();

    public abstract string Role { get; }

    /// <summary>The node id reported with the state; set once the session knows it.</summary>
    public long NodeId { get; set; }

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

    public virtual Task<string> GetStatisticsChannelAsync(CancellationToken cancellationToken) =>
        Task.FromResult($"{Role}-statistics");

    public virtual Task RegisterAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Prepares the component.</summary>
    protected virtual Task OnInitAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Starts the component and returns the state it starts in (Healthy unless it is a standby).</summary>
    protected virtual Task<StateCode> OnStartAsync(CancellationToken cancellationToken) => Task.FromResult(StateCode.Healthy);

    /// <summary>Stops the component.</summary>
    protected virtual Task OnStopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
