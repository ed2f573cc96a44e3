using Microsoft.Extensions.Diagnostics.HealthChecks;
using Milvus.Domain.Tso;

namespace Milvus.Workers.Tso;

/// <summary>Readiness of the timestamp oracle and the id allocator: both have loaded their saved state.</summary>
public sealed class TsoHealthCheck(TimestampOracle oracle, GlobalIdAllocator ids) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(oracle.IsReady && ids.IsReady
            ? HealthCheckResult.Healthy($"The oracle is at {oracle.PhysicalMs} ms with its window saved to {oracle.SavedMs} ms.")
            : HealthCheckResult.Unhealthy("The timestamp oracle or the id allocator has not loaded its saved state from the meta KV."));
}
