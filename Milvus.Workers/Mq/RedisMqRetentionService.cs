using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Archive;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq.Redis;
using Milvus.Domain.Telemetry;
using Milvus.Workers.Tso;

namespace Milvus.Workers.Mq;

/// <summary>
/// The Redis queue's <see cref="ClusterMqRetentionService"/>: a pass every <c>Milvus:RedisMq:RetentionIntervalSeconds</c>, and exports each channel's stream length as <c>milvus_redismq_stream_length</c> from the gateway that runs retention.
/// </summary>
public sealed class RedisMqRetentionService(
    RedisMqClient mq,
    TsoComponent tso,
    ITxnKv meta,
    SegmentCatalog archive,
    IOptionsMonitor<RedisMqOptions> options,
    IOptions<ArchiveOptions> archiving,
    TimeProvider time,
    ILogger<RedisMqRetentionService> logger) : ClusterMqRetentionService(mq, tso, meta, archive, archiving, time, logger)
{
    private static readonly ConcurrentDictionary<ClusterMqRetentionService, byte> Services = new();

    private static readonly ObservableGauge<long> Length = MilvusTelemetry.Meter.CreateObservableGauge(
        "milvus.redismq.stream_length", () => Services.Keys.SelectMany(s => ((RedisMqRetentionService)s).Lengths()), "{entry}",
        "Entries in a channel's Redis stream after the last retention pass (reported by the gateway that runs retention).");

    protected override string QueueName => "Redis";

    protected override ConcurrentDictionary<ClusterMqRetentionService, byte> Running => Services;

    protected override TimeSpan Interval => TimeSpan.FromSeconds(options.CurrentValue.RetentionIntervalSeconds);

    protected override async Task<(long Trimmed, IReadOnlyDictionary<string, long> Lengths)> PassAsync(IReadOnlyDictionary<string, long> keepFrom, CancellationToken cancellationToken)
    {
        var result = await mq.RunRetentionAsync(options.CurrentValue, keepFrom, cancellationToken).ConfigureAwait(false);
        return (result.Trimmed, result.Lengths);
    }
}
