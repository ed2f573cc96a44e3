namespace Milvus.Workers.Jobs;

/// <summary>
/// A recurring maintenance job (retention, compaction, garbage collection, expiry). Register one in DI as
/// <see cref="IMaintenanceJob"/> and the job scheduler runs it on its schedule, never twice at once, also
/// across gateways that share the job storage.
/// </summary>
public interface IMaintenanceJob
{
    /// <summary>The job's stable id, e.g. <c>rocksmq-retention</c>.</summary>
    string Id { get; }

    /// <summary>A cron expression (UTC) for when the job runs, e.g. <c>*/5 * * * *</c>.</summary>
    string Cron { get; }

    /// <summary>Runs the job once.</summary>
    Task RunAsync(CancellationToken cancellationToken);
}
