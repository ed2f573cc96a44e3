using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Archive;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Workers.Hosting;

namespace Milvus.Workers.Archive;

/// <summary>
/// When <c>Milvus:Archive:Enabled</c> is true, runs the archiving graphs: a sync at start, then one every
/// <c>Milvus:Archive:DiscoveryIntervalMs</c>, which follows created and destroyed channels and restarts failed
/// graphs. Stopping the host closes every graph.
/// </summary>
public sealed partial class ArchiveService(
    ArchiveSupervisor supervisor,
    IOptions<ArchiveOptions> options,
    TimeProvider time,
    ILogger<ArchiveService> logger,
    ArchiveClaims? claims = null) : PeriodicService(time)
{
    protected override TimeSpan Interval => TimeSpan.FromMilliseconds(options.Value.DiscoveryIntervalMs);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }
        claims?.WhenLost(supervisor.StopGraphsAsync);
        await OnTickAsync(stoppingToken).ConfigureAwait(false);
        await base.ExecuteAsync(stoppingToken).ConfigureAwait(false);
    }

    protected override async Task OnTickAsync(CancellationToken stoppingToken)
    {
        try
        {
            await supervisor.SyncAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MqException or KvException)
        {
            Log.SyncFailed(logger, ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            // A bug in one sync must not stop the host; the next sync tries again.
            Log.SyncCrashed(logger, ex);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await supervisor.CloseAsync().ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 8101, Level = LogLevel.Warning, Message = "The archiver could not list the channels or settle its claims; the next sync retries.")]
        public static partial void SyncFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 8102, Level = LogLevel.Error, Message = "The archiver's sync failed unexpectedly; the next sync retries.")]
        public static partial void SyncCrashed(ILogger logger, Exception exception);
    }
}
