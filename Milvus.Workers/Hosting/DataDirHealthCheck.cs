using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Milvus.Domain.Params;

namespace Milvus.Workers.Hosting;

/// <summary>Readiness of the data directory: it exists and a file can be written and removed in it.</summary>
public sealed class DataDirHealthCheck(IOptions<MilvusOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var dir = options.Value.DataDirFullPath;
        var probe = Path.Combine(dir, $".ready-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(dir);
            await File.WriteAllTextAsync(probe, "ok", cancellationToken).ConfigureAwait(false);
            File.Delete(probe);
            return HealthCheckResult.Healthy($"{dir} is writable.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return HealthCheckResult.Unhealthy($"The data directory {dir} is not writable: {ex.Message}", ex);
        }
    }
}
