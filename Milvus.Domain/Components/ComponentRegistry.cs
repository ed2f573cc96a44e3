namespace Milvus.Domain.Components;

/// <summary>
/// The gateway as the root component: it aggregates the states of every hosted component. The root is
/// Initializing until every component has started, Stopping once shutdown begins, Abnormal while any component
/// is Abnormal, and Healthy otherwise.
/// </summary>
public sealed class ComponentRegistry(IEnumerable<IComponent> components)
{
    /// <summary>The role of the root component.</summary>
    public const string RootRole = "gateway";

    private readonly IReadOnlyList<IComponent> _components = components.ToList();

    /// <summary>The root's own state: Initializing until the host has started every component.</summary>
    public ComponentStateTracker Root { get; } = new();

    /// <summary>The node id of this gateway; set once the session knows it.</summary>
    public long NodeId { get; set; }

    /// <summary>The hosted components, in start order.</summary>
    public IReadOnlyList<IComponent> Components => _components;

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
        var info = Root.ToInfo(NodeId, RootRole) with { StateCode = aggregated };
        return new ComponentStates(info, subcomponents, status);
    }
}
