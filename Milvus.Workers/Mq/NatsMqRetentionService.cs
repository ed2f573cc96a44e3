using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Archive;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Nats;
using Milvus.Domain.Telemetry;
using Milvus.Workers.Hosting;
using Milvus.Workers.Tso;

namespace Milvus.Workers.Mq;

/// <summary>
/// Runs the NATS queue's retention pass every <c>Milvus:Nats:RetentionIntervalSeconds</c>, on the one gateway of
/// the cluster that serves the TSO role (the others skip their turn), and exports each channel's batch count as
/// <c>milvus_natsmq_channel_batches</c> from that gateway. Besides the groups' positions, every pass keeps what a consume
/// subscription's or an archiver's checkpoint resumes at (their streams read ahead of what they answered or archived).
/// A failed pass is logged and the next tick tries again.
/// </summary>
public sealed partial class NatsMqRetentionService(
    NatsMqClient mq,
    TsoComponent tso,
    ITxnKv meta,
    SegmentCatalog archive,
    IOptionsMonitor<NatsMqOptions> options,
    IOptions<ArchiveOptions> archiving,
    TimeProvider time,
    ILogger<NatsMqRetentionService> logger) : PeriodicService(time)
{
    private static readonly ConcurrentDictionary<NatsMqRetentionService, byte> Services = new();

    private static readonly ObservableGauge<long> Length = MilvusTelemetry.Meter.CreateObservableGauge(
        "milvus.natsmq.channel_batches", () => Services.Keys.SelectMany(s => s.Lengths()), "{batch}",
        "Batches (JetStream messages) of a channel after the last retention pass (reported by the gateway that runs retention).");

    private volatile IReadOnlyDictionary<string, long> _lengths = new Dictionary<string, long>();

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Services.TryAdd(this, 0);
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        Services.TryRemove(this, out _);
        return base.StopAsync(cancellationToken);
    }

    protected override TimeSpan Interval => TimeSpan.FromSeconds(options.CurrentValue.RetentionIntervalSeconds);

    protected override Task OnTickAsync(CancellationToken stoppingToken) => RunOnceAsync(stoppingToken);

    /// <summary>One pass, when this gateway runs retention for the cluster, with its failures logged rather than thrown.</summary>
    internal async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        if (!tso.Serves)
        {
            _lengths = new Dictionary<string, long>();
            return;
        }
        try
        {
            var keepFrom = await MqResumePoints.LoadAsync(meta, archive, archiving.Value, mq, cancellationToken).ConfigureAwait(false);
            var result = await mq.RunRetentionAsync(options.CurrentValue, keepFrom, cancellationToken).ConfigureAwait(false);
            _lengths = result.Lengths;
            Log.PassDone(logger, result.Trimmed, result.Lengths.Count);
        }
        catch (Exception ex) when (ex is MqUnavailableException or KvException)
        {
            Log.PassFailed(logger, ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A bug in one pass must not stop the host; it is logged as an error and the next tick tries again.
            Log.PassCrashed(logger, ex);
        }
    }

    private IEnumerable<Measurement<long>> Lengths() =>
        _lengths.Select(l => new Measurement<long>(l.Value, new KeyValuePair<string, object?>("channel", l.Key)));

    private static partial class Log
    {
        [LoggerMessage(EventId = 5221, Level = LogLevel.Debug, Message = "NATS queue retention pass: {Trimmed} batches removed over {Channels} channels.")]
        public static partial void PassDone(ILogger logger, long trimmed, int channels);

        [LoggerMessage(EventId = 5222, Level = LogLevel.Warning, Message = "NATS queue retention pass failed; the next tick tries again.")]
        public static partial void PassFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 5223, Level = LogLevel.Error, Message = "NATS queue retention pass failed unexpectedly; the next tick tries again.")]
        public static partial void PassCrashed(ILogger logger, Exception exception);
    }
}
