namespace Milvus.Domain.Components;

/// <summary>
/// The gateway as the root component: it aggregates the states of every hosted component. The root is
/// Initializing until every component has started, Stopping once shutdown begins, Abnormal while any component
/// is Abnormal, and Healthy otherwise.
/// </summary>
public sealed class ComponentRegistry : IDisposable
{
    /// <summary>The role of the root component.</summary>
    public const string RootRole = "gateway";

    /// <summary>The role of the component that registers the gateway's session, whose server id is the gateway's node id.</summary>
    public const string SessionRole = "session";

    private readonly IReadOnlyList<IComponent> _components;

    /// <summary>
    /// The registry of <paramref name="components"/>, whose states <c>milvus_component_state</c> shows until it is
    /// disposed, and who publish their statistics on <paramref name="statisticsChannel"/> (the root's extra info
    /// names it).
    /// </summary>
    public ComponentRegistry(IEnumerable<IComponent> components, string statisticsChannel = StatisticsOptions.DefaultChannel)
    {
        _components = components.ToList();
        StatisticsChannel = statisticsChannel;
        foreach (var component in _components.OfType<ComponentBase>())
        {
            component.StatisticsChannel = statisticsChannel;
        }
        Root.SetExtra("statisticsChannel", statisticsChannel);
        ComponentTelemetry.Register(this);
    }

    /// <summary>The channel on which this gateway publishes its statistics.</summary>
    public string StatisticsChannel { get; }

    /// <summary>The root's own state: Initializing until the host has started every component.</summary>
    public ComponentStateTracker Root { get; } = new();

    /// <summary>The node id of this gateway; when it is not set, the one a component knows (the session's server id).</summary>
    public long NodeId { get; set; }

    /// <summary>The hosted components, in start order.</summary>
    public IReadOnlyList<IComponent> Components => _components;

    public void Dispose() => ComponentTelemetry.Unregister(this);

    /// <summary>The aggregated states of the gateway and every component.</summary>
    public async Task<ComponentStates> GetStatesAsync(CancellationToken cancellationToken)
    {
        var subcomponents = new List<ComponentInfo>(_components.Count);
        foreach (var component in _components)
        {
            var states = await component.GetComponentStatesAsync(cancellationToken).ConfigureAwait(false);
            subcomponents.Add(states.State);
            subcomponents.AddRange(states.SubcomponentStates);
        }

        var root = Root.State;
        var failing = subcomponents.Where(s => s.StateCode == StateCode.Abnormal).Select(s => s.Role).ToList();
        var aggregated = root switch
        {
            StateCode.Healthy when failing.Count > 0 => StateCode.Abnormal,
            _ => root,
        };
        var status = aggregated switch
        {
            StateCode.Healthy => Status.Success,
            StateCode.Abnormal when failing.Count > 0 => new Status(ErrorCode.NotReady, $"Abnormal: {string.Join(", ", failing)}"),
            _ => new Status(ErrorCode.NotReady, $"The gateway is {aggregated}."),
        };
        // Every component of this gateway runs on its node: the node id the session registered, unless one was set.
        var nodeId = NodeId != 0 ? NodeId
            : subcomponents.FirstOrDefault(s => s.Role == SessionRole)?.NodeId is { } session and not 0 ? session
            : subcomponents.Select(s => s.NodeId).FirstOrDefault(id => id != 0);
        var info = Root.ToInfo(nodeId, RootRole) with { StateCode = aggregated };
        return new ComponentStates(info, [.. subcomponents.Select(s => s.NodeId == 0 ? s with { NodeId = nodeId } : s)], status);
    }
}
