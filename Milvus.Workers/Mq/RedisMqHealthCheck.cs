using Microsoft.Extensions.Diagnostics.HealthChecks;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Redis;

namespace Milvus.Workers.Mq;

/// <summary>Ready while the Redis behind the Redis Streams queue answers a ping.</summary>
public sealed class RedisMqHealthCheck(RedisMqClient mq) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var rtt = await mq.PingAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"Redis MQ answers in {rtt.TotalMilliseconds:F1} ms.");
        }
        catch (MqUnavailableException ex)
        {
            return HealthCheckResult.Unhealthy($"Redis MQ does not answer: {ex.Message}", ex);
        }
    }
}
