using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Channels;
using Milvus.Domain.Components;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Gateway;
using Milvus.Domain.Telemetry;
using Milvus.Domain.Tso;

namespace Milvus.Workers.TimeTick;

/// <summary>
/// The cluster's time tick producer and aligner, role <c>timetick</c>, on every gateway. The gateway that serves the
/// TSO role ticks: each <see cref="TickAsync"/> takes a tick from the TSO that passes no timestamp still in flight on
/// its own produce path, lowers it to the lowest safe tick that the other live gateways reported
/// (<see cref="TimeTickCluster"/>) and to the lowest tick that each external <see cref="ITimeTickProvider"/> has
/// reported on its time tick channel, and, when that is above the last tick sent, writes it as a
/// <see cref="TimeTickMsg"/> into every channel in <see cref="TickedChannels"/> (every channel a msgstream produce
/// wrote into, on any gateway, also before a restart), and into its own time tick channel
/// (<c>Milvus:TimeTick:Channel</c>, <see cref="GetTimeTickChannelAsync"/>), so that the gateway is itself a
/// <see cref="ITimeTickProvider"/> that another aligner can read. Until every provider and every live gateway has
/// reported once, nothing is sent. Every other gateway only reports its own safe tick (<see cref="ReportAsync"/>). A failing
/// round (TSO or queue down) makes the component Abnormal; the next good one makes it Healthy again. Without a
/// <see cref="TimeTickCluster"/> the process is alone and ticks.
/// </summary>
public sealed partial class TimeTickComponent : ComponentBase, ITimeTickProvider, IDisposable
{
    /// <summary>The role the component reports.</summary>
    public const string RoleName = "timetick";

    /// <summary>The consumer group that reads the providers' time tick channels.</summary>
    public const string ProviderGroup = "timetick-aligner";

    private const int ProviderReadBatch = 1024;

    private readonly GatewayProducer _producer;
    private readonly ITimestampAllocator _tso;
    private readonly IMqClient _mq;
    private readonly ITimeTickProvider[] _providers;
    private readonly TimeTickOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<TimeTickComponent> _logger;
    private readonly TimeTickCluster? _cluster;
    private readonly GatewayChannel _tickChannel;
    private readonly UnmarshalDispatcher _dispatcher = new();
    private readonly SemaphoreSlim _tickGate = new(1, 1);
    private readonly ConcurrentDictionary<string, ulong> _channelTicks = new(StringComparer.Ordinal);
    private ProviderState[] _providerStates = [];
    private ulong _lastTick;
    private long _ticksSent;
    private bool _ticking;

    /// <summary>A tick producer over the gateway's produce path.</summary>
    public TimeTickComponent(GatewayProducer producer, ITimestampAllocator tso, IMqClient mq, IChannelService channels, IEnumerable<ITimeTickProvider> providers,
        IOptions<TimeTickOptions> options, TimeProvider time, ILogger<TimeTickComponent> logger, TimeTickCluster? cluster = null)
    {
        _producer = producer;
        _tso = tso;
        _mq = mq;
        _providers = [.. providers];
        _options = options.Value;
        _time = time;
        _logger = logger;
        _cluster = cluster;
        _tickChannel = new GatewayChannel(_options.Channel, new OwnerDescription(RoleName, "", "The cluster's time ticks, written by the ticking gateway."), channels, mq, time);
        TimeTickMetrics.Register(this);
        Tracker.SetExtra("enabled", _options.Enabled ? "true" : "false");
        Tracker.SetExtra("intervalMs", _options.IntervalMs.ToString(CultureInfo.InvariantCulture));
        Tracker.SetExtra("timeTickChannel", _options.Channel);
    }

    public override string Role => RoleName;

    /// <summary>Whether the gateway sends its own ticks (<c>Milvus:TimeTick:Enabled</c>).</summary>
    public bool Enabled => _options.Enabled;

    /// <summary>Whether this gateway sends the cluster's ticks.</summary>
    public bool IsTicker => _cluster?.IsTicker ?? true;

    /// <summary>The channel into which the ticker writes every tick it sends.</summary>
    public Task<string> GetTimeTickChannelAsync(CancellationToken cancellationToken) => Task.FromResult(_options.Channel);

    /// <summary>The last tick this gateway sent (0 before the first).</summary>
    public ulong LastTick => Interlocked.Read(ref _lastTick);

    /// <summary>How many ticks this gateway sent (one per round, into every channel).</summary>
    public long TicksSent => Interlocked.Read(ref _ticksSent);

    /// <summary>
    /// One round of the ticker: reads the providers' new ticks and the other gateways' reports, computes the safe
    /// tick and sends it into every ticked channel. Does nothing on a gateway that is not the ticker. Errors other
    /// than cancellation become the component's Abnormal state.
    /// </summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        var state = Tracker.State;
        if (!_options.Enabled || state is StateCode.Stopping or StateCode.Initializing || !IsTicker)
        {
            return;
        }
        await _tickGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await BecomeTickerAsync(cancellationToken).ConfigureAwait(false);
            await ReadProvidersAsync(cancellationToken).ConfigureAwait(false);
            // The ticker's own timestamp comes before the listing of the other gateways (see TimeTickCluster).
            var tick = await _producer.InFlight.SafeTickAsync(async ct => (await _tso.AllocOneAsync(ct).ConfigureAwait(false)).Value, cancellationToken).ConfigureAwait(false);
            if (_cluster is not null)
            {
                var (bound, waiting, gateways) = await _cluster.OthersAsync(cancellationToken).ConfigureAwait(false);
                Tracker.SetExtra("gateways", (gateways + 1).ToString(CultureInfo.InvariantCulture));
                Tracker.SetExtra("waitingFor", waiting ?? "");
                if (waiting is not null)
                {
                    Recovered(state);
                    return;
                }
                tick = Math.Min(tick, bound);
            }
            foreach (var provider in _providerStates)
            {
                if (provider.Tick is not { } reported)
                {
                    return;
                }
                tick = Math.Min(tick, reported);
            }
            if (tick > LastTick)
            {
                await SendAsync(tick, cancellationToken).ConfigureAwait(false);
            }
            Recovered(state);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            Failed(state, ex);
        }
        finally
        {
            _tickGate.Release();
        }
    }

    /// <summary>
    /// One report of a gateway that is not the ticker: its safe tick, stored under its session lease for the ticker
    /// to read. Does nothing on the ticker or without a cluster. Errors other than cancellation become the
    /// component's Abnormal state.
    /// </summary>
    public async Task ReportAsync(CancellationToken cancellationToken)
    {
        var state = Tracker.State;
        if (!_options.Enabled || state is StateCode.Stopping or StateCode.Initializing || _cluster is null || _cluster.IsTicker)
        {
            return;
        }
        await _tickGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ticking)
            {
                _ticking = false;
                _channelTicks.Clear();
                Log.NoLongerTicker(_logger);
            }
            var safe = await _producer.InFlight.SafeTickAsync(async ct => (await _tso.AllocOneAsync(ct).ConfigureAwait(false)).Value, cancellationToken).ConfigureAwait(false);
            await _cluster.ReportAsync(safe, cancellationToken).ConfigureAwait(false);
            Tracker.SetExtra("ticker", _cluster.TickerAddress ?? "");
            Tracker.SetExtra("lastReport", safe.ToString(CultureInfo.InvariantCulture));
            Recovered(state);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            Failed(state, ex);
        }
        finally
        {
            _tickGate.Release();
        }
    }

    /// <summary>Now minus the physical time of the last tick sent into each channel, in milliseconds.</summary>
    public IEnumerable<(string Channel, double LagMs)> Lags()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return _channelTicks.Select(p => (p.Key, (double)(now - new HybridTimestamp(p.Value).PhysicalMs)));
    }

    public void Dispose()
    {
        TimeTickMetrics.Unregister(this);
        _tickGate.Dispose();
    }

    protected override async Task OnInitAsync(CancellationToken cancellationToken)
    {
        var states = new List<ProviderState>();
        foreach (var provider in _providers)
        {
            var channel = await provider.GetTimeTickChannelAsync(cancellationToken).ConfigureAwait(false);
            MqNames.Validate(channel, "time tick channel");
            if (channel == _options.Channel)
            {
                throw new InvalidOperationException($"A time tick provider reads '{channel}', the channel this gateway writes its own ticks into (Milvus:TimeTick:Channel).");
            }
            try
            {
                await _mq.CreateChannelAsync(channel, cancellationToken).ConfigureAwait(false);
            }
            catch (MqChannelExistsException)
            {
                // The provider made it first.
            }
            if (!await _mq.ConsumerGroupExistsAsync(channel, ProviderGroup, cancellationToken).ConfigureAwait(false))
            {
                await _mq.CreateConsumerGroupAsync(channel, ProviderGroup, MqStartPosition.Earliest, cancellationToken).ConfigureAwait(false);
            }
            states.Add(new ProviderState(channel));
        }
        _providerStates = [.. states];
        Tracker.SetExtra("providers", string.Join(",", states.Select(s => s.Channel)));
        if (_options.Enabled)
        {
            // Made at start, so that the channel is listed from the first request on, on every gateway.
            await _tickChannel.EnsureAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async Task OnStopAsync(CancellationToken cancellationToken)
    {
        TimeTickMetrics.Unregister(this);
        if (_cluster is null)
        {
            return;
        }
        try
        {
            // The ticker need not wait a lease for this gateway's last report.
            await _cluster.WithdrawAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.WithdrawFailed(_logger, ex);
        }
    }

    /// <summary>On the first round as the ticker: withdraws this gateway's report, which the ticker does not read.</summary>
    private async Task BecomeTickerAsync(CancellationToken cancellationToken)
    {
        if (_ticking)
        {
            return;
        }
        if (_cluster is not null)
        {
            await _cluster.WithdrawAsync(cancellationToken).ConfigureAwait(false);
            Tracker.SetExtra("ticker", _cluster.TickerAddress ?? "");
            Tracker.SetExtra("lastReport", "");
            Log.Ticker(_logger);
        }
        _ticking = true;
    }

    private void Recovered(StateCode before)
    {
        if (before == StateCode.Abnormal && Tracker.TryTransitionTo(StateCode.Healthy))
        {
            Log.Recovered(_logger);
        }
    }

    private void Failed(StateCode before, Exception ex)
    {
        if (before != StateCode.Abnormal)
        {
            Log.TickFailed(_logger, ex);
        }
        Tracker.TryTransitionTo(StateCode.Abnormal, ex.Message);
    }

    private async Task ReadProvidersAsync(CancellationToken cancellationToken)
    {
        foreach (var provider in _providerStates)
        {
            while (true)
            {
                var messages = await _mq.ConsumeAsync(provider.Channel, ProviderGroup, ProviderReadBatch, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
                foreach (var message in messages)
                {
                    if (_dispatcher.Unmarshal(message.Payload) is TimeTickMsg tick && (provider.Tick is null || tick.EndTs > provider.Tick))
                    {
                        provider.Tick = tick.EndTs;
                    }
                }
                if (messages.Count < ProviderReadBatch)
                {
                    break;
                }
            }
        }
    }

    private async Task SendAsync(ulong tick, CancellationToken cancellationToken)
    {
        ReadOnlyMemory<byte>[] payload = [TimeTickMsg.At(tick).Marshal()];
        await WriteOwnChannelAsync(payload, cancellationToken).ConfigureAwait(false);
        var channels = await _producer.Ticked.ListAsync(cancellationToken).ConfigureAwait(false);
        foreach (var channel in channels)
        {
            if (channel == _tickChannel.Name || _providerStates.Any(p => p.Channel == channel))
            {
                continue;
            }
            try
            {
                await _mq.ProduceAsync(channel, payload, cancellationToken).ConfigureAwait(false);
                _channelTicks[channel] = tick;
            }
            catch (MqChannelNotFoundException)
            {
                await _producer.Ticked.ForgetAsync(channel, cancellationToken).ConfigureAwait(false);
                _channelTicks.TryRemove(channel, out _);
                Log.ChannelGone(_logger, channel);
            }
        }
        foreach (var gone in _channelTicks.Keys.Except(channels, StringComparer.Ordinal))
        {
            _channelTicks.TryRemove(gone, out _);
        }
        Interlocked.Exchange(ref _lastTick, tick);
        Interlocked.Increment(ref _ticksSent);
        Tracker.SetExtra("lastTick", tick.ToString(CultureInfo.InvariantCulture));
        Tracker.SetExtra("channels", _channelTicks.Count.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Writes a tick into the time tick channel, making the channel again if it was destroyed.</summary>
    private async Task WriteOwnChannelAsync(ReadOnlyMemory<byte>[] payload, CancellationToken cancellationToken)
    {
        await _tickChannel.EnsureAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _mq.ProduceAsync(_tickChannel.Name, payload, cancellationToken).ConfigureAwait(false);
            await _tickChannel.KeepAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (MqException ex) when (ex is MqChannelNotFoundException or MqGroupNotFoundException)
        {
            _tickChannel.Lost();
            Log.ChannelGone(_logger, _tickChannel.Name);
        }
    }

    private sealed class ProviderState(string channel)
    {
        public string Channel { get; } = channel;

        public ulong? Tick { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6201, Level = LogLevel.Error, Message = "The time tick could not be sent; the timetick component is Abnormal until a tick succeeds.")]
        public static partial void TickFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "Time ticks are sent again; the timetick component is Healthy.")]
        public static partial void Recovered(ILogger logger);

        [LoggerMessage(EventId = 6203, Level = LogLevel.Information, Message = "Channel {Channel} no longer exists; it gets no more time ticks.")]
        public static partial void ChannelGone(ILogger logger, string channel);

        [LoggerMessage(EventId = 6204, Level = LogLevel.Information, Message = "This gateway sends the cluster's time ticks (it serves the TSO role).")]
        public static partial void Ticker(ILogger logger);

        [LoggerMessage(EventId = 6205, Level = LogLevel.Information, Message = "This gateway no longer sends the cluster's time ticks; it reports its safe tick to the ticker.")]
        public static partial void NoLongerTicker(ILogger logger);

        [LoggerMessage(EventId = 6206, Level = LogLevel.Warning, Message = "This gateway's time tick report could not be withdrawn at stop; it goes with the session lease.")]
        public static partial void WithdrawFailed(ILogger logger, Exception exception);
    }
}

/// <summary>The time tick lag gauge, <c>milvus_timetick_lag_seconds</c>, per channel, over every live tick component.</summary>
internal static class TimeTickMetrics
{
    private static readonly ConcurrentDictionary<TimeTickComponent, byte> Sources = new();

    private static readonly ObservableGauge<double> Lag = MilvusTelemetry.Meter.CreateObservableGauge(
        "milvus.timetick.lag", Observe, unit: "s", description: "Seconds from the physical time of the last time tick sent into a channel to now.");

    public static void Register(TimeTickComponent component) => Sources.TryAdd(component, 0);

    public static void Unregister(TimeTickComponent component) => Sources.TryRemove(component, out _);

    private static IEnumerable<Measurement<double>> Observe() =>
        Sources.Keys.SelectMany(c => c.Lags()).Select(l => new Measurement<double>(l.LagMs / 1000, new KeyValuePair<string, object?>("channel", l.Channel)));
}
