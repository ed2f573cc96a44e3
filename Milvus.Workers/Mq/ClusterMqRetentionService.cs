using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Archive;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Workers.Hosting;
using Milvus.Workers.Tso;

namespace Milvus.Workers.Mq;

/// <summary>
/// Runs a shared queue's retention pass (Redis or NATS) every interval, on the one gateway of the cluster that serves
/// the TSO role (the others skip their turn), and keeps each channel's length after the pass for the queue's gauge,
/// reported by that gateway. Besides the groups' positions, every pass keeps what a consume subscription's or an
/// archiver's checkpoint resumes at (their streams read ahead of what they answered or archived). A failed pass is
/// logged and the next tick tries again.
/// </summary>
public abstract partial class ClusterMqRetentionService(
    IMqClient queue,
    TsoComponent tso,
    ITxnKv meta,
    SegmentCatalog archive,
    IOptions<ArchiveOptions> archiving,
    TimeProvider time,
    ILogger logger) : PeriodicService(time)
{
    private volatile IReadOnlyDictionary<string, long> _lengths = new Dictionary<string, long>();

    /// <summary>The queue's name in logs.</summary>
    protected abstract string QueueName { get; }

    /// <summary>The running services of the subclass, whose gauge reads <see cref="Lengths"/> of each.</summary>
    protected abstract ConcurrentDictionary<ClusterMqRetentionService, byte> Running { get; }

    /// <summary>One retention pass of the queue, keeping <paramref name="keepFrom"/>: what it removed, and each channel's length.</summary>
    protected abstract Task<(long Trimmed, IReadOnlyDictionary<string, long> Lengths)> PassAsync(IReadOnlyDictionary<string, long> keepFrom, CancellationToken cancellationToken);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Running.TryAdd(this, 0);
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        Running.TryRemove(this, out _);
        return base.StopAsync(cancellationToken);
    }

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
            var keepFrom = await MqResumePoints.LoadAsync(meta, archive, archiving.Value, queue, cancellationToken).ConfigureAwait(false);
            var (trimmed, lengths) = await PassAsync(keepFrom, cancellationToken).ConfigureAwait(false);
            _lengths = lengths;
            Log.PassDone(logger, QueueName, trimmed, lengths.Count);
        }
        catch (Exception ex) when (ex is MqUnavailableException or KvException)
        {
            Log.PassFailed(logger, QueueName, ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A bug in one pass must not stop the host; it is logged as an error and the next tick tries again.
            Log.PassCrashed(logger, QueueName, ex);
        }
    }

    /// <summary>Each channel's length after the last pass, as gauge measurements.</summary>
    protected IEnumerable<Measurement<long>> Lengths() =>
        _lengths.Select(l => new Measurement<long>(l.Value, new KeyValuePair<string, object?>("channel", l.Key)));

    private static partial class Log
    {
        [LoggerMessage(EventId = 5211, Level = LogLevel.Debug, Message = "{Queue} queue retention pass: {Trimmed} removed over {Channels} channels.")]
        public static partial void PassDone(ILogger logger, string queue, long trimmed, int channels);

        [LoggerMessage(EventId = 5212, Level = LogLevel.Warning, Message = "{Queue} queue retention pass failed; the next tick tries again.")]
        public static partial void PassFailed(ILogger logger, string queue, Exception exception);

        [LoggerMessage(EventId = 5213, Level = LogLevel.Error, Message = "{Queue} queue retention pass failed unexpectedly; the next tick tries again.")]
        public static partial void PassCrashed(ILogger logger, string queue, Exception exception);
    }
}
