using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;
using Milvus.Workers.Hosting;

namespace Milvus.Workers.Mq;

/// <summary>
/// Runs RocksMQ's retention pass every <c>Milvus:RocksMq:RetentionIntervalSeconds</c>. A pass that finds the
/// queue closed (not started yet, or stopped) is skipped; any other failure is logged and the next tick tries again.
/// </summary>
public sealed partial class RocksMqRetentionService(
    RocksMq mq,
    IOptions<RocksMqOptions> options,
    TimeProvider time,
    ILogger<RocksMqRetentionService> logger) : PeriodicService(time)
{
    protected override TimeSpan Interval => TimeSpan.FromSeconds(options.Value.RetentionIntervalSeconds);

    protected override Task OnTickAsync(CancellationToken stoppingToken) => RunOnceAsync(stoppingToken);

    /// <summary>One pass, with its failures logged rather than thrown.</summary>
    internal async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            var result = await mq.RunRetentionAsync(cancellationToken).ConfigureAwait(false);
            Log.PassDone(logger, result.Pages, result.Bytes, result.CompactedRanges);
        }
        catch (MqUnavailableException ex)
        {
            Log.PassFailed(logger, ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A bug in one pass must not stop the host; it is logged as an error and the next tick tries again.
            Log.PassCrashed(logger, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5201, Level = LogLevel.Debug, Message = "RocksMQ retention pass: {Pages} pages, {Bytes} bytes deleted, {Ranges} ranges compacted.")]
        public static partial void PassDone(ILogger logger, int pages, long bytes, int ranges);

        [LoggerMessage(EventId = 5202, Level = LogLevel.Warning, Message = "RocksMQ retention pass failed; the next tick tries again.")]
        public static partial void PassFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 5203, Level = LogLevel.Error, Message = "RocksMQ retention pass failed unexpectedly; the next tick tries again.")]
        public static partial void PassCrashed(ILogger logger, Exception exception);
    }
}
