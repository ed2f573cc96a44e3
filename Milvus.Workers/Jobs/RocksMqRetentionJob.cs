using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Mq.RocksMq;
using Milvus.Domain.Params;

namespace Milvus.Workers.Jobs;

/// <summary>
/// RocksMQ's retention and compaction pass (<see cref="RocksMq.RunRetentionAsync"/>) as a recurring job, every
/// minute. With another message queue configured it has nothing to do.
/// </summary>
public sealed partial class RocksMqRetentionJob(IServiceProvider services, IOptions<MqOptions> options, ILogger<RocksMqRetentionJob> logger) : IMaintenanceJob
{
    public const string JobId = "rocksmq-retention";

    public string Id => JobId;

    public string Cron => "* * * * *";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        // The queue in DI may be wrapped (metrics), so the configured backend decides, and RocksMQ itself is only
        // resolved when it is the one configured (resolving it opens its database).
        if (options.Value.Backend != MqBackend.RocksMq)
        {
            Log.NotRocksMq(logger, options.Value.Backend.ToString());
            return;
        }
        var rocks = services.GetRequiredService<RocksMq>();
        var result = await rocks.RunRetentionAsync(cancellationToken).ConfigureAwait(false);
        Log.Done(logger, result.Pages, result.Bytes, result.CompactedRanges);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 9012, Level = LogLevel.Information, Message = "RocksMQ retention job: {Pages} pages, {Bytes} bytes deleted, {Ranges} ranges compacted.")]
        public static partial void Done(ILogger logger, int pages, long bytes, int ranges);

        [LoggerMessage(EventId = 9013, Level = LogLevel.Debug, Message = "RocksMQ retention job skipped: the message queue is {Mq}.")]
        public static partial void NotRocksMq(ILogger logger, string mq);
    }
}
