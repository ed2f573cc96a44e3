using Hangfire;
using Microsoft.Extensions.Logging;

namespace Milvus.Workers.Jobs;

/// <summary>
/// What the job scheduler invokes: it finds the registered job by id and runs it. The distributed lock of
/// <see cref="DisableConcurrentExecutionAttribute"/> keeps one run of a job at a time across every gateway
/// that shares the job storage.
/// </summary>
public sealed partial class MaintenanceJobRunner(IEnumerable<IMaintenanceJob> jobs, ILogger<MaintenanceJobRunner> logger)
{
    /// <summary>How long a run waits for another gateway's run of the same job to finish.</summary>
    public const int LockTimeoutSeconds = 300;

    /// <summary>Runs the job with <paramref name="jobId"/>.</summary>
    /// <exception cref="InvalidOperationException">No job has that id.</exception>
    [DisableConcurrentExecution(LockTimeoutSeconds)]
    [AutomaticRetry(Attempts = 0)]
    public async Task RunAsync(string jobId, CancellationToken cancellationToken)
    {
        var job = jobs.FirstOrDefault(j => j.Id == jobId)
            ?? throw new InvalidOperationException($"No maintenance job has the id '{jobId}'.");
        Log.Running(logger, jobId);
        await job.RunAsync(cancellationToken).ConfigureAwait(false);
        Log.Finished(logger, jobId);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 9001, Level = LogLevel.Debug, Message = "Maintenance job {JobId} is running.")]
        public static partial void Running(ILogger logger, string jobId);

        [LoggerMessage(EventId = 9002, Level = LogLevel.Information, Message = "Maintenance job {JobId} finished.")]
        public static partial void Finished(ILogger logger, string jobId);
    }
}
