using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Kv.Snapshot;
using Milvus.Domain.Tso;

namespace Milvus.Workers.Jobs;

/// <summary>
/// Drops the snapshot KV's versions that no read within <see cref="JobsOptions.SnapshotRetentionMinutes"/> of now
/// can need (<see cref="SnapshotKv.GcAsync"/>), every ten minutes.
/// </summary>
public sealed partial class SnapshotKvGcJob(SnapshotKv snapshots, IOptions<JobsOptions> options, TimeProvider time, ILogger<SnapshotKvGcJob> logger) : IMaintenanceJob
{
    public const string JobId = "snapshotkv-gc";

    public string Id => JobId;

    public string Cron => "*/10 * * * *";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var horizon = HybridTimestamp.FromWallTime(time.GetUtcNow() - TimeSpan.FromMinutes(options.Value.SnapshotRetentionMinutes));
        var dropped = await snapshots.GcAsync(horizon.Value, cancellationToken).ConfigureAwait(false);
        Log.Collected(logger, dropped, horizon.Value);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 9011, Level = LogLevel.Information, Message = "Snapshot KV GC dropped {Versions} versions older than {Horizon}.")]
        public static partial void Collected(ILogger logger, int versions, ulong horizon);
    }
}
