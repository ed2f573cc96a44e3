using Microsoft.Extensions.Diagnostics.HealthChecks;
using Milvus.Domain.Components;
using Milvus.Domain.Mq.RocksMq;

namespace Milvus.Workers.Mq;

/// <summary>Readiness of RocksMQ: the component is Healthy and its database answers a read.</summary>
public sealed class RocksMqHealthCheck(RocksMqComponent component, RocksMqDatabase database) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var state = component.Tracker.State;
        if (state != StateCode.Healthy)
        {
            var reason = component.Tracker.Reason;
            return Task.FromResult(HealthCheckResult.Unhealthy($"RocksMQ is {state}{(reason.Length > 0 ? $": {reason}" : "")}."));
        }
        var probe = database.Probe();
        return Task.FromResult(probe is null
            ? HealthCheckResult.Healthy($"RocksMQ at {database.Path} answers.")
            : HealthCheckResult.Unhealthy($"RocksMQ does not answer: {probe}"));
    }
}
