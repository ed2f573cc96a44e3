using Microsoft.Extensions.Diagnostics.HealthChecks;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Redis;

namespace Milvus.Workers.Mq;

/// <summary>
/// Ready while the Redis behind the Redis Streams queue answers a ping, and, under <c>Milvus:RedisMq:Durability=always</c>,
/// fsyncs every write.
/// </summary>
public sealed class RedisMqHealthCheck(RedisMqClient mq) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var rtt = await mq.PingAsync(cancellationToken).ConfigureAwait(false);
            if (mq.DurabilityProblem is { } problem)
            {
                return HealthCheckResult.Unhealthy(problem);
            }
            return HealthCheckResult.Healthy($"Redis MQ answers in {rtt.TotalMilliseconds:F1} ms.");
        }
        catch (MqUnavailableException ex)
        {
            return HealthCheckResult.Unhealthy($"Redis MQ does not answer: {ex.Message}", ex);
        }
    }
}
