using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Milvus.Domain.Telemetry;

namespace Milvus.Domain.Components;

/// <summary>
/// <c>milvus_component_state{role}</c>: the state code of the gateway (role <c>gateway</c>) and of each hosted
/// component, as the component states route answers it (0 Initializing, 1 Healthy, 2 Abnormal, 3 StandBy, 4 Stopping).
/// </summary>
internal static class ComponentTelemetry
{
    private static readonly ConcurrentDictionary<ComponentRegistry, byte> Registries = new();

    private static readonly ObservableGauge<int> State = MilvusTelemetry.Meter.CreateObservableGauge(
        "milvus.component.state", Observe, unit: "{state}",
        description: "The state of the gateway (role gateway) and of each component: 0 Initializing, 1 Healthy, 2 Abnormal, 3 StandBy, 4 Stopping.");

    /// <summary>How long one scrape waits for the states.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(2);

    internal static void Register(ComponentRegistry registry) => Registries.TryAdd(registry, 0);

    internal static void Unregister(ComponentRegistry registry) => Registries.TryRemove(registry, out _);

    private static IEnumerable<Measurement<int>> Observe()
    {
        var measurements = new List<Measurement<int>>();
        foreach (var registry in Registries.Keys)
        {
            ComponentStates states;
            try
            {
                using var timeout = new CancellationTokenSource(Patience);
                // A scrape is synchronous; the states are read from memory, so this returns at once.
                states = registry.GetStatesAsync(timeout.Token).GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                continue;
            }
            foreach (var info in states.SubcomponentStates.Prepend(states.State))
            {
                measurements.Add(new Measurement<int>((int)info.StateCode, new KeyValuePair<string, object?>("role", info.Role)));
            }
        }
        return measurements;
    }
}
