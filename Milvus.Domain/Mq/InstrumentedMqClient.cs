using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Milvus.Domain.Telemetry;

namespace Milvus.Domain.Mq;

/// <summary>
/// Per-channel message-queue instruments that hold for every <see cref="IMqClient"/> backend:
/// <c>milvus.mq.channel.produced.messages</c> (tag <c>channel</c>), <c>milvus.mq.channel.consumed.messages</c>
/// (tags <c>channel</c>, <c>group</c>) and the gauge <c>milvus.mq.consumer.lag</c> (tags <c>channel</c>,
/// <c>group</c>): how many messages produced through this gateway the group has not consumed yet.
/// </summary>
internal static class MqTelemetry
{
    private static readonly ConcurrentDictionary<InstrumentedMqClient, byte> Clients = new();

    private static readonly Counter<long> Produced = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.mq.channel.produced.messages", "{message}", "Messages produced, by channel.");

    private static readonly Counter<long> Consumed = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.mq.channel.consumed.messages", "{message}", "Messages handed to consumers, by channel and group.");

    private static readonly ObservableGauge<long> Lag = MilvusTelemetry.Meter.CreateObservableGauge(
        "milvus.mq.consumer.lag", () => Clients.Keys.SelectMany(c => c.LagMeasurements()), "{message}",
        "Messages produced through this gateway that a consumer group has not consumed yet (counted over the channel's most recent 65536 messages).");

    internal static void Register(InstrumentedMqClient client) => Clients.TryAdd(client, 0);

    internal static void Unregister(InstrumentedMqClient client) => Clients.TryRemove(client, out _);

    internal static void RecordProduced(string channel, int count) => Produced.Add(count, new KeyValuePair<string, object?>("channel", channel));

    internal static void RecordConsumed(string channel, string group, int count) =>
        Consumed.Add(count, new KeyValuePair<string, object?>("channel", channel), new KeyValuePair<string, object?>("group", group));
}

/// <summary>
/// Decorates any <see cref="IMqClient"/> with <see cref="MqTelemetry"/>. To measure lag without asking the backend,
/// it keeps the ids of each channel's most recent produced messages (at most <see cref="TrackedIds"/> per
/// channel) and each group's last known position; a group that has consumed nothing since the gateway started,
/// or that was created at the earliest message, is reported once its first consume tells where it stands.
/// </summary>
public sealed class InstrumentedMqClient : IMqClient, IDisposable
{
    /// <summary>How many recent message ids per channel the lag is counted over.</summary>
    public const int TrackedIds = 65_536;

    private readonly IMqClient _inner;
    private readonly ConcurrentDictionary<string, ChannelIds> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Channel, string Group), long> _positions = new();

    public InstrumentedMqClient(IMqClient inner)
    {
        _inner = inner;
        MqTelemetry.Register(this);
    }

    /// <summary>The queue this wrapper measures.</summary>
    public IMqClient Inner => _inner;

    public Task CreateChannelAsync(string channel, CancellationToken cancellationToken = default) =>
        _inner.CreateChannelAsync(channel, cancellationToken);

    public async Task DestroyChannelsAsync(IReadOnlyCollection<string> channels, CancellationToken cancellationToken = default)
    {
        await _inner.DestroyChannelsAsync(channels, cancellationToken).ConfigureAwait(false);
        foreach (var channel in channels)
        {
            _channels.TryRemove(channel, out _);
            foreach (var key in _positions.Keys.Where(k => k.Channel == channel))
            {
                _positions.TryRemove(key, out _);
            }
        }
    }

    public Task<bool> ChannelExistsAsync(string channel, CancellationToken cancellationToken = default) =>
        _inner.ChannelExistsAsync(channel, cancellationToken);

    public Task<IReadOnlyList<string>> ListChannelsAsync(CancellationToken cancellationToken = default) =>
        _inner.ListChannelsAsync(cancellationToken);

    public async Task CreateConsumerGroupAsync(string channel, string group, MqStartPosition position, CancellationToken cancellationToken = default)
    {
        await _inner.CreateConsumerGroupAsync(channel, group, position, cancellationToken).ConfigureAwait(false);
        if (position == MqStartPosition.Latest)
        {
            _positions[(channel, group)] = Ids(channel).Last;
        }
    }

    public async Task DestroyConsumerGroupAsync(string channel, string group, CancellationToken cancellationToken = default)
    {
        await _inner.DestroyConsumerGroupAsync(channel, group, cancellationToken).ConfigureAwait(false);
        _positions.TryRemove((channel, group), out _);
    }

    public Task<bool> ConsumerGroupExistsAsync(string channel, string group, CancellationToken cancellationToken = default) =>
        _inner.ConsumerGroupExistsAsync(channel, group, cancellationToken);

    public async Task<IReadOnlyList<long>> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken = default)
    {
        var ids = await _inner.ProduceAsync(channel, payloads, cancellationToken).ConfigureAwait(false);
        MqTelemetry.RecordProduced(channel, ids.Count);
        Ids(channel).Add(ids);
        return ids;
    }

    public Task<ReadOnlyMemory<byte>?> FindProduceKeyAsync(string channel, string key, CancellationToken cancellationToken = default) =>
        _inner.FindProduceKeyAsync(channel, key, cancellationToken);

    public async Task<MqProduced> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, MqProduceKey key, CancellationToken cancellationToken = default)
    {
        var produced = await _inner.ProduceAsync(channel, payloads, key, cancellationToken).ConfigureAwait(false);
        if (!produced.Replayed)
        {
            MqTelemetry.RecordProduced(channel, produced.Ids.Count);
            Ids(channel).Add(produced.Ids);
        }
        return produced;
    }

    public async Task<IReadOnlyList<MqMessage>> ConsumeAsync(string channel, string group, int n, TimeSpan wait = default, CancellationToken cancellationToken = default)
    {
        var messages = await _inner.ConsumeAsync(channel, group, n, wait, cancellationToken).ConfigureAwait(false);
        if (messages.Count > 0)
        {
            MqTelemetry.RecordConsumed(channel, group, messages.Count);
        }
        // Fewer than asked for means caught up: nothing produced so far is left for this group.
        _positions[(channel, group)] = messages.Count < n ? Math.Max(Ids(channel).Last, LastId(messages)) : LastId(messages);
        return messages;
    }

    public async Task SeekAsync(string channel, string group, long msgId, CancellationToken cancellationToken = default)
    {
        await _inner.SeekAsync(channel, group, msgId, cancellationToken).ConfigureAwait(false);
        _positions[(channel, group)] = msgId - 1;
    }

    public async Task SeekToAsync(string channel, string group, MqStartPosition position, CancellationToken cancellationToken = default)
    {
        await _inner.SeekToAsync(channel, group, position, cancellationToken).ConfigureAwait(false);
        if (position == MqStartPosition.Latest)
        {
            _positions[(channel, group)] = Ids(channel).Last;
        }
        else
        {
            _positions.TryRemove((channel, group), out _);
        }
    }

    public Task<long?> GetLatestMsgIdAsync(string channel, CancellationToken cancellationToken = default) =>
        _inner.GetLatestMsgIdAsync(channel, cancellationToken);

    public void Dispose() => MqTelemetry.Unregister(this);

    /// <summary>One lag measurement per group whose position is known.</summary>
    internal IEnumerable<Measurement<long>> LagMeasurements() =>
        _positions.Select(p => new Measurement<long>(
            _channels.TryGetValue(p.Key.Channel, out var ids) ? ids.CountAbove(p.Value) : 0,
            new KeyValuePair<string, object?>("channel", p.Key.Channel),
            new KeyValuePair<string, object?>("group", p.Key.Group)));

    private ChannelIds Ids(string channel) => _channels.GetOrAdd(channel, _ => new ChannelIds());

    private static long LastId(IReadOnlyList<MqMessage> messages) => messages.Count > 0 ? messages[^1].MsgId : long.MinValue;

    /// <summary>The sorted ids of a channel's most recent messages.</summary>
    private sealed class ChannelIds
    {
        private readonly List<long> _ids = [];
        private readonly Lock _gate = new();

        public long Last
        {
            get
            {
                lock (_gate)
                {
                    return _ids.Count > 0 ? _ids[^1] : long.MinValue;
                }
            }
        }

        public void Add(IReadOnlyList<long> ids)
        {
            lock (_gate)
            {
                foreach (var id in ids)
                {
                    // Concurrent batches may finish out of order; keep the list sorted.
                    var at = _ids.Count == 0 || id > _ids[^1] ? _ids.Count : ~_ids.BinarySearch(id);
                    if (at >= 0)
                    {
                        _ids.Insert(at, id);
                    }
                }
                if (_ids.Count > 2 * TrackedIds)
                {
                    _ids.RemoveRange(0, _ids.Count - TrackedIds);
                }
            }
        }

        public long CountAbove(long position)
        {
            lock (_gate)
            {
                var at = _ids.BinarySearch(position);
                var firstAbove = at >= 0 ? at + 1 : ~at;
                return _ids.Count - firstAbove;
            }
        }
    }
}
