using Microsoft.Extensions.Diagnostics.HealthChecks;
using Milvus.Domain.Components;

namespace Milvus.Workers.Tso;

/// <summary>
/// Readiness of the timestamp oracle and the id allocator: on the active gateway both have loaded their saved
/// state; a standby is ready too, because it forwards to the active one.
/// </summary>
public sealed class TsoHealthCheck(TsoComponent component) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var (oracle, ids) = (component.Oracle, component.Ids);
        return Task.FromResult(
            component.IsActive && oracle.IsReady && ids.IsReady ? HealthCheckResult.Healthy($"Active: the oracle is at {oracle.PhysicalMs} ms with its window saved to {oracle.SavedMs} ms.")
            : !component.IsActive && component.Tracker.State == StateCode.StandBy ? HealthCheckResult.Healthy($"Standby: the active TSO is at {component.ActiveAddress}.")
            : HealthCheckResult.Unhealthy(component.IsActive
                ? "The timestamp oracle or the id allocator has not loaded its saved state from the meta KV."
                : "This gateway is not the active TSO and knows no active one: its session is lost or being made."));
    }
}
