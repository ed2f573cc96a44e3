using Microsoft.Extensions.Logging;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;

namespace Milvus.Workers.Jobs;

/// <summary>
/// RocksMQ's retention and compaction pass (<see cref="RocksMq.RunRetentionAsync"/>) as a recurring job, every
/// minute. With another message queue configured it has nothing to do.
/// </summary>
public sealed partial class RocksMqRetentionJob(IMqClient mq, ILogger<RocksMqRetentionJob> logger) : IMaintenanceJob
{
    public const string JobId = "rocksmq-retention";

    public string Id => JobId;

    public string Cron => "* * * * *";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (mq is not RocksMq rocks)
        {
            Log.NotRocksMq(logger, mq.GetType().Name);
            return;
        }
        var result = await rocks.RunRetentionAsync(cancellationToken).ConfigureAwait(false);
        Log.Done(logger, result.Pages, result.Bytes, result.CompactedRanges);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4012, Level = LogLevel.Information, Message = "RocksMQ retention job: {Pages} pages, {Bytes} bytes deleted, {Ranges} ranges compacted.")]
        public static partial void Done(ILogger logger, int pages, long bytes, int ranges);

        [LoggerMessage(EventId = 4013, Level = LogLevel.Debug, Message = "RocksMQ retention job skipped: the message queue is {Mq}.")]
        public static partial void NotRocksMq(ILogger logger, string mq);
    }
}
