using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Archive;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Redis;
using Milvus.Domain.MsgStream.Gateway;
using Milvus.Domain.Telemetry;
using Milvus.Workers.Hosting;
using Milvus.Workers.Tso;

namespace Milvus.Workers.Mq;

/// <summary>
/// Runs the Redis queue's retention pass every <c>Milvus:RedisMq:RetentionIntervalSeconds</c>, on the one gateway of
/// the cluster that serves the TSO role (the others skip their turn), and exports each channel's stream length as
/// <c>milvus_redismq_stream_length</c> from that gateway. Besides the groups' positions, every pass keeps what a consume
/// subscription's or an archiver's checkpoint resumes at (their streams read ahead of what they answered or archived).
/// A failed pass is logged and the next tick tries again.
/// </summary>
public sealed partial class RedisMqRetentionService(
    RedisMqClient mq,
    TsoComponent tso,
    ITxnKv meta,
    SegmentCatalog archive,
    IOptionsMonitor<RedisMqOptions> options,
    IOptions<ArchiveOptions> archiving,
    TimeProvider time,
    ILogger<RedisMqRetentionService> logger) : PeriodicService(time)
{
    private static readonly ConcurrentDictionary<RedisMqRetentionService, byte> Services = new();

    private static readonly ObservableGauge<long> Length = MilvusTelemetry.Meter.CreateObservableGauge(
        "milvus.redismq.stream_length", () => Services.Keys.SelectMany(s => s.Lengths()), "{entry}",
        "Entries in a channel's Redis stream after the last retention pass (reported by the gateway that runs retention).");

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
            var keepFrom = await ResumePointsAsync(cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// Per channel, the lowest msg id that a consume subscription or an archiver resumes at after a restart. Their
    /// streams read ahead, so their consumer groups are past it, and what lies between must stay.
    /// </summary>
    private async Task<Dictionary<string, long>> ResumePointsAsync(CancellationToken cancellationToken)
    {
        var floors = new Dictionary<string, long>(StringComparer.Ordinal);
        void Keep(string channel, long msgId) => floors[channel] = Math.Min(msgId, floors.GetValueOrDefault(channel, long.MaxValue));
        var kept = await meta.LoadWithPrefixAsync(SubscriptionCheckpoint.KeyPrefix, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < kept.Count; i++)
        {
            SubscriptionCheckpoint checkpoint;
            try
            {
                checkpoint = SubscriptionCheckpoint.Parse(kept.Keys[i][SubscriptionCheckpoint.KeyPrefix.Length..], kept.Values[i]);
            }
            catch (SubscriptionCheckpointUnreadableException)
            {
                continue; // Its channels are unknown; the subscription answers 409 until it is deleted.
            }
            foreach (var point in checkpoint.Points)
            {
                // 0 is the channel's earliest msg: nothing of that channel may go yet.
                Keep(point.ChannelName, point.MsgId == 0 ? 0 : point.After ? point.MsgId + 1 : point.MsgId);
            }
        }
        if (archiving.Value.Enabled)
        {
            foreach (var channel in await mq.ListChannelsAsync(cancellationToken).ConfigureAwait(false))
            {
                var checkpoint = await archive.LoadCheckpointAsync(channel, cancellationToken).ConfigureAwait(false);
                Keep(channel, checkpoint?.Position.MsgId ?? 0);
            }
        }
        return floors;
    }

    private IEnumerable<Measurement<long>> Lengths() =>
        _lengths.Select(l => new Measurement<long>(l.Value, new KeyValuePair<string, object?>("channel", l.Key)));

    private static partial class Log
    {
        [LoggerMessage(EventId = 5211, Level = LogLevel.Debug, Message = "Redis queue retention pass: {Trimmed} entries removed over {Channels} channels.")]
        public static partial void PassDone(ILogger logger, long trimmed, int channels);

        [LoggerMessage(EventId = 5212, Level = LogLevel.Warning, Message = "Redis queue retention pass failed; the next tick tries again.")]
        public static partial void PassFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 5213, Level = LogLevel.Error, Message = "Redis queue retention pass failed unexpectedly; the next tick tries again.")]
        public static partial void PassCrashed(ILogger logger, Exception exception);
    }
}
