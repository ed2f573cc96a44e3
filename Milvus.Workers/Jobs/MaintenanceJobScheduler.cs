using Hangfire;
using Microsoft.Extensions.Hosting;

namespace Milvus.Workers.Jobs;

/// <summary>Registers every <see cref="IMaintenanceJob"/> as a recurring job at start-up.</summary>
public sealed class MaintenanceJobScheduler(IEnumerable<IMaintenanceJob> jobs, IRecurringJobManager manager) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var job in jobs)
        {
            var id = job.Id;
            manager.AddOrUpdate<MaintenanceJobRunner>(id, runner => runner.RunAsync(id, CancellationToken.None), job.Cron, new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
