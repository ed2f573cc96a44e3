namespace Milvus.Domain.Components;

/// <summary>A component of the system, driven through its life cycle by the host (seed A.1).</summary>
public interface IComponent
{
    /// <summary>The component's role, e.g. <c>tso</c> or <c>rocksmq</c>.</summary>
    string Role { get; }

    /// <summary>Prepares the component: opens stores, loads saved state. The state is Initializing.</summary>
    Task InitAsync(CancellationToken cancellationToken);

    /// <summary>Starts serving. The state becomes Healthy (or StandBy, or Abnormal when a backend fails).</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Stops serving and releases resources. The state becomes Stopping.</summary>
    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>The component's current state, with its subcomponents.</summary>
    Task<ComponentStates> GetComponentStatesAsync(CancellationToken cancellationToken);

    /// <summary>The name of the channel on which the component publishes its statistics.</summary>
    Task<string> GetStatisticsChannelAsync(CancellationToken cancellationToken);

    /// <summary>Registers the component with service discovery, where the component takes part in it.</summary>
    Task RegisterAsync(CancellationToken cancellationToken);
}

/// <summary>A component that produces time ticks, which the time tick aligner consumes.</summary>
public interface ITimeTickProvider
{
    /// <summary>The name of the channel on which the component publishes its time ticks.</summary>
    Task<string> GetTimeTickChannelAsync(CancellationToken cancellationToken);
}
