using Microsoft.Extensions.Logging;
using Milvus.Domain.Archive;

namespace Milvus.Workers.Jobs;

/// <summary>
/// Every ten minutes, finishes the archive purges that a crash or a store outage interrupted, and purges the
/// archived segments of channels that no longer exist (<see cref="ArchiveSupervisor.SweepAsync"/>: the
/// <see cref="ArchivePurger"/>'s sweep under the supervisor's gate, once the graphs of those channels are stopped).
/// </summary>
public sealed partial class ArchivePurgeJob(ArchiveSupervisor supervisor, ILogger<ArchivePurgeJob> logger) : IMaintenanceJob
{
    public const string JobId = "archive-purge";

    public string Id => JobId;

    public string Cron => "*/10 * * * *";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var purged = await supervisor.SweepAsync(cancellationToken).ConfigureAwait(false);
        Log.Swept(logger, purged.Count);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 9021, Level = LogLevel.Information, Message = "Archive purge job: purged the archives of {Channels} destroyed channels.")]
        public static partial void Swept(ILogger logger, int channels);
    }
}
