using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Archive;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq.Nats;
using Milvus.Domain.Telemetry;
using Milvus.Workers.Tso;

namespace Milvus.Workers.Mq;

/// <summary>
/// The NATS queue's <see cref="ClusterMqRetentionService"/>: a pass every <c>Milvus:Nats:RetentionIntervalSeconds</c>, and exports each channel's batch count as <c>milvus_natsmq_channel_batches</c> from the gateway that runs retention.
/// </summary>
public sealed class NatsMqRetentionService(
    NatsMqClient mq,
    TsoComponent tso,
    ITxnKv meta,
    SegmentCatalog archive,
    IOptionsMonitor<NatsMqOptions> options,
    IOptions<ArchiveOptions> archiving,
    TimeProvider time,
    ILogger<NatsMqRetentionService> logger) : ClusterMqRetentionService(mq, tso, meta, archive, archiving, time, logger)
{
    private static readonly ConcurrentDictionary<ClusterMqRetentionService, byte> Services = new();

    private static readonly ObservableGauge<long> Length = MilvusTelemetry.Meter.CreateObservableGauge(
        "milvus.natsmq.channel_batches", () => Services.Keys.SelectMany(s => ((NatsMqRetentionService)s).Lengths()), "{batch}",
        "Batches (JetStream messages) of a channel after the last retention pass (reported by the gateway that runs retention).");

    protected override string QueueName => "NATS";

    protected override ConcurrentDictionary<ClusterMqRetentionService, byte> Running => Services;

    protected override TimeSpan Interval => TimeSpan.FromSeconds(options.CurrentValue.RetentionIntervalSeconds);

    protected override async Task<(long Trimmed, IReadOnlyDictionary<string, long> Lengths)> PassAsync(IReadOnlyDictionary<string, long> keepFrom, CancellationToken cancellationToken)
    {
        var result = await mq.RunRetentionAsync(options.CurrentValue, keepFrom, cancellationToken).ConfigureAwait(false);
        return (result.Trimmed, result.Lengths);
    }
}
