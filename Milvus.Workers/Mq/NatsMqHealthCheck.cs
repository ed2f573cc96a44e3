using Microsoft.Extensions.Diagnostics.HealthChecks;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Nats;

namespace Milvus.Workers.Mq;

/// <summary>Ready while NATS JetStream answers for both streams of the queue (a replicated stream needs its quorum).</summary>
public sealed class NatsMqHealthCheck(NatsMqClient mq) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var took = await mq.PingAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"NATS MQ answers in {took.TotalMilliseconds:F1} ms.");
        }
        catch (MqUnavailableException ex)
        {
            return HealthCheckResult.Unhealthy($"NATS MQ does not answer: {ex.Message}", ex);
        }
    }
}
