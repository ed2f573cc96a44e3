using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Channels;
using Milvus.Domain.Components;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Gateway;
using Milvus.Workers.Hosting;

namespace Milvus.Workers.Statistics;

/// <summary>
/// Publishes the gateway's statistics every <c>Milvus:Statistics:IntervalMs</c> into the statistics channel that
/// every component's <see cref="IComponent.GetStatisticsChannelAsync"/> names (the seed's <c>GetStatisticsChannel</c>).
/// Each publish is one <see cref="MsgType.QueryNodeStats"/> msg, the seed's type for a node's statistics, written
/// through the gateway's produce path (so it has a TSO timestamp and time-ticked subscribers get it), routed by the
/// gateway's node id, with a JSON <see cref="GatewayStatistics"/> as its payload. The channel is shared by the
/// gateways of a cluster and made at start when missing; a failed publish is logged and the next period tries
/// again. With an interval of 0 nothing is published.
/// </summary>
public sealed partial class StatisticsService : PeriodicService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    private readonly ComponentRegistry _registry;
    private readonly GatewayProducer _producer;
    private readonly StatisticsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<StatisticsService> _logger;
    private readonly GatewayChannel _channel;
    private bool _failing;

    /// <summary>A publisher through <paramref name="producer"/> of <paramref name="registry"/>'s states.</summary>
    public StatisticsService(ComponentRegistry registry, GatewayProducer producer, IChannelService channels, IMqClient mq,
        IOptions<StatisticsOptions> options, TimeProvider time, ILogger<StatisticsService> logger)
        : base(time)
    {
        _registry = registry;
        _producer = producer;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _channel = new GatewayChannel(_options.Channel, new OwnerDescription(ComponentRegistry.RootRole, "", "Each gateway's statistics, published periodically."), channels, mq, time);
    }

    protected override TimeSpan Interval => TimeSpan.FromMilliseconds(Math.Max(1, _options.IntervalMs));

    /// <summary>One publish, with its failure logged rather than thrown.</summary>
    public async Task PublishAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _channel.EnsureAsync(cancellationToken).ConfigureAwait(false);
            var statistics = await CollectAsync(cancellationToken).ConfigureAwait(false);
            var msg = new PayloadMsg(MsgType.QueryNodeStats)
            {
                Payload = JsonSerializer.SerializeToUtf8Bytes(statistics, Json),
                HashKeys = [unchecked((uint)statistics.NodeId)],
            };
            await _producer.ProduceAsync([_channel.Name], [msg], broadcast: false, cancellationToken).ConfigureAwait(false);
            await _channel.KeepAsync(cancellationToken).ConfigureAwait(false);
            if (_failing)
            {
                _failing = false;
                Log.Recovered(_logger, _channel.Name);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            if (ex is MqChannelNotFoundException or MqGroupNotFoundException)
            {
                _channel.Lost();
            }
            if (!_failing)
            {
                _failing = true;
                Log.PublishFailed(_logger, ex, _channel.Name);
            }
        }
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.IntervalMs > 0)
        {
            try
            {
                // Made and ticked from the start, so that the channel is listed, and time-ticked, from the first request on.
                await _channel.EnsureAsync(cancellationToken).ConfigureAwait(false);
                await _producer.Ticked.RecordAsync([_channel.Name], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.PublishFailed(_logger, ex, _channel.Name);
                _failing = true;
            }
        }
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override Task OnTickAsync(CancellationToken stoppingToken) => PublishAsync(stoppingToken);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        _options.IntervalMs > 0 ? base.ExecuteAsync(stoppingToken) : Task.CompletedTask;

    private async Task<GatewayStatistics> CollectAsync(CancellationToken cancellationToken)
    {
        var states = await _registry.GetStatesAsync(cancellationToken).ConfigureAwait(false);
        using var process = Process.GetCurrentProcess();
        return new GatewayStatistics(
            states.State.NodeId,
            _time.GetUtcNow().ToUnixTimeMilliseconds(),
            states.State.StateCode,
            [.. states.SubcomponentStates.Select(s => new ComponentStatistics(s.Role, s.StateCode))],
            new ProcessStatistics(
                process.WorkingSet64,
                GC.GetTotalMemory(forceFullCollection: false),
                process.TotalProcessorTime.TotalSeconds,
                process.Threads.Count,
                (_time.GetUtcNow() - process.StartTime.ToUniversalTime()).TotalSeconds));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6401, Level = LogLevel.Warning, Message = "The gateway's statistics could not be published on {Channel}; the next period tries again.")]
        public static partial void PublishFailed(ILogger logger, Exception exception, string channel);

        [LoggerMessage(EventId = 6402, Level = LogLevel.Information, Message = "The gateway's statistics are published on {Channel} again.")]
        public static partial void Recovered(ILogger logger, string channel);
    }
}

/// <summary>One gateway's statistics, the JSON payload of a statistics msg.</summary>
/// <param name="NodeId">The gateway's node id (its session's server id).</param>
/// <param name="TimeMs">When the statistics were taken, in Unix milliseconds.</param>
/// <param name="StateCode">The gateway's aggregated state.</param>
/// <param name="Components">Each component's state.</param>
/// <param name="Process">The gateway process.</param>
public sealed record GatewayStatistics(long NodeId, long TimeMs, StateCode StateCode, IReadOnlyList<ComponentStatistics> Components, ProcessStatistics Process);

/// <summary>A component's state in the statistics.</summary>
public sealed record ComponentStatistics(string Role, StateCode StateCode);

/// <summary>The gateway process in the statistics.</summary>
/// <param name="WorkingSetBytes">Resident memory.</param>
/// <param name="GcHeapBytes">Bytes allocated on the managed heap.</param>
/// <param name="CpuSeconds">CPU time used since the process started.</param>
/// <param name="Threads">Threads in the process.</param>
/// <param name="UptimeSeconds">Seconds since the process started.</param>
public sealed record ProcessStatistics(long WorkingSetBytes, long GcHeapBytes, double CpuSeconds, int Threads, double UptimeSeconds);
