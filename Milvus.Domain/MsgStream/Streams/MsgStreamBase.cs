using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Mq;
using Milvus.Domain.Telemetry;

namespace Milvus.Domain.MsgStream.Streams;

/// <summary>Tuning of a message stream.</summary>
/// <param name="BufferSize">How many ready packs <see cref="IMsgStream.Chan"/> holds before the reader waits.</param>
/// <param name="ReadBatchSize">How many queue messages one read of a channel takes at most.</param>
/// <param name="ReadWait">How long one read waits on an idle channel before it is issued again.</param>
public sealed record MsgStreamSettings(int BufferSize = 64, int ReadBatchSize = 256, TimeSpan ReadWait = default)
{
    /// <summary>The wait used when <see cref="ReadWait"/> is zero.</summary>
    public static readonly TimeSpan DefaultReadWait = TimeSpan.FromSeconds(1);

    internal TimeSpan EffectiveReadWait => ReadWait > TimeSpan.Zero ? ReadWait : DefaultReadWait;
}

/// <summary>
/// What the plain and the time-ticked streams share: producing (repack, broadcast), subscribing, seeking, and one
/// background pump per stream that reads the channels and writes packs into a bounded channel. Subclasses say
/// how the messages read become packs.
/// </summary>
internal abstract partial class MsgStreamBase : IMsgStream
{
    private readonly Lock _gate = new();
    private readonly Channel<MsgPack> _output;
    private readonly CancellationTokenSource _stopping = new();
    private RepackFunc _repack = RepackFuncs.Default;
    private string[] _producerChannels = [];
    private string[] _consumerChannels = [];
    private Task? _pump;
    private bool _closed;

    private protected MsgStreamBase(IMqClient mq, UnmarshalDispatcher dispatcher, TimeProvider time, ILogger logger, MsgStreamSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.BufferSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.ReadBatchSize, 1);
        Mq = mq ?? throw new ArgumentNullException(nameof(mq));
        Dispatcher = dispatcher ?? throw new ArgumentNullException(nameof(dispatcher));
        Time = time ?? throw new ArgumentNullException(nameof(time));
        Logger = logger ?? throw new ArgumentNullException(nameof(logger));
        Settings = settings;
        _output = Channel.CreateBounded<MsgPack>(new BoundedChannelOptions(settings.BufferSize)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = true,
        });
    }

    public IReadOnlyList<string> ProducerChannels => Volatile.Read(ref _producerChannels);

    public IReadOnlyList<string> ConsumerChannels => Volatile.Read(ref _consumerChannels);

    public string? SubName { get; private set; }

    private protected IMqClient Mq { get; }

    private protected UnmarshalDispatcher Dispatcher { get; }

    private protected TimeProvider Time { get; }

    private protected ILogger Logger { get; }

    private protected MsgStreamSettings Settings { get; }

    public async Task AsProducerAsync(IReadOnlyList<string> channels, CancellationToken cancellationToken = default)
    {
        var names = CheckChannels(channels);
        lock (_gate)
        {
            ThrowIfClosed();
            if (_producerChannels.Length > 0)
            {
                throw MsgStreamException.Invalid("The stream is a producer already.");
            }
        }
        foreach (var channel in names)
        {
            await EnsureChannelAsync(channel, cancellationToken).ConfigureAwait(false);
        }
        lock (_gate)
        {
            ThrowIfClosed();
            Volatile.Write(ref _producerChannels, names);
        }
    }

    public async Task AsConsumerAsync(IReadOnlyList<string> channels, string subName, MqStartPosition position, CancellationToken cancellationToken = default)
    {
        var names = CheckChannels(channels);
        MqNames.Validate(subName, "subscription");
        lock (_gate)
        {
            ThrowIfClosed();
            if (_consumerChannels.Length > 0 || _pump is not null)
            {
                throw MsgStreamException.Invalid("The stream is a consumer already, or started.");
            }
        }
        foreach (var channel in names)
        {
            await EnsureChannelAsync(channel, cancellationToken).ConfigureAwait(false);
            if (!await Mq.ConsumerGroupExistsAsync(channel, subName, cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await Mq.CreateConsumerGroupAsync(channel, subName, position, cancellationToken).ConfigureAwait(false);
                }
                catch (MqGroupExistsException)
                {
                    // Another stream of the same subscription created it meanwhile: it is shared, as intended.
                }
            }
        }
        lock (_gate)
        {
            ThrowIfClosed();
            SubName = subName;
            Volatile.Write(ref _consumerChannels, names);
            OnSubscribed(names, subName);
        }
    }

    public void SetRepackFunc(RepackFunc repackFunc)
    {
        ArgumentNullException.ThrowIfNull(repackFunc);
        Volatile.Write(ref _repack, repackFunc);
    }

    public void Start()
    {
        lock (_gate)
        {
            ThrowIfClosed();
            if (_pump is not null || _consumerChannels.Length == 0)
            {
                return;
            }
            var channels = _consumerChannels;
            var group = SubName!;
            _pump = Task.Run(() => RunPumpAsync(channels, group, _stopping.Token));
        }
    }

    public async Task CloseAsync()
    {
        Task? pump;
        lock (_gate)
        {
            if (_closed)
            {
                pump = _pump;
            }
            else
            {
                _closed = true;
                pump = _pump;
                _stopping.Cancel();
            }
        }
        if (pump is not null)
        {
            // The pump never throws: it hands its error to the output channel.
            await pump.ConfigureAwait(false);
        }
        _output.Writer.TryComplete();
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }

    public async Task<IReadOnlyList<MsgPosition>> ProduceAsync(MsgPack pack, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pack);
        var channels = RequireProducer();
        if (pack.Msgs.Count == 0)
        {
            return [];
        }
        var repack = Volatile.Read(ref _repack);
        var parts = repack(pack.Msgs, RepackFuncs.ChannelIndices(pack.Msgs, channels.Length));
        foreach (var index in parts.Keys)
        {
            if (index < 0 || index >= channels.Length)
            {
                throw MsgStreamException.Invalid($"The repack function sent messages to channel index {index}, but the stream has {channels.Length} channels.");
            }
        }
        var writes = parts.Where(p => p.Value.Msgs.Count > 0).OrderBy(p => p.Key)
            .Select(p => WriteAsync(channels[p.Key], p.Value.Msgs, Marshal(p.Value.Msgs), cancellationToken))
            .ToArray();
        return Flatten(await Task.WhenAll(writes).ConfigureAwait(false));
    }

    public async Task<IReadOnlyList<MsgPosition>> BroadcastAsync(MsgPack pack, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pack);
        var channels = RequireProducer();
        if (pack.Msgs.Count == 0)
        {
            throw MsgStreamException.Invalid("A broadcast needs at least one message.");
        }
        var payloads = Marshal(pack.Msgs);
        var writes = channels.Select(c => WriteAsync(c, pack.Msgs, payloads, cancellationToken)).ToArray();
        return Flatten(await Task.WhenAll(writes).ConfigureAwait(false));
    }

    public async Task<MsgPack?> ConsumeAsync(TimeSpan? wait = null, CancellationToken cancellationToken = default)
    {
        using var bound = wait is { } limit ? new CancellationTokenSource(limit, Time) : null;
        using var linked = bound is null ? null : CancellationTokenSource.CreateLinkedTokenSource(bound.Token, cancellationToken);
        var token = linked?.Token ?? cancellationToken;
        var reader = _output.Reader;
        try
        {
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                if (reader.TryRead(out var pack))
                {
                    return pack;
                }
            }
            return null;
        }
        catch (OperationCanceledException) when (bound is not null && bound.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public async Task SeekAsync(IReadOnlyList<MsgPosition> positions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(positions);
        string[] channels;
        string group;
        lock (_gate)
        {
            ThrowIfClosed();
            if (_consumerChannels.Length == 0 || _pump is not null)
            {
                throw MsgStreamException.Invalid("Seek needs a consumer stream that has not started yet.");
            }
            channels = _consumerChannels;
            group = SubName!;
        }
        foreach (var position in positions)
        {
            if (!channels.Contains(position.ChannelName, StringComparer.Ordinal))
            {
                throw MsgStreamException.Invalid($"The seek position names channel '{position.ChannelName}', which this stream does not consume.");
            }
        }
        OnSeek(positions);
        foreach (var position in positions)
        {
            if (position.MsgId > 0)
            {
                await Mq.SeekAsync(position.ChannelName, group, position.MsgId, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await Mq.SeekToAsync(position.ChannelName, group, MqStartPosition.Earliest, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public ChannelReader<MsgPack> Chan() => _output.Reader;

    /// <summary>Called once the subscription is set, under the stream's lock.</summary>
    private protected virtual void OnSubscribed(string[] channels, string group)
    {
    }

    /// <summary>Called with checked seek positions before the queue's groups move.</summary>
    private protected virtual void OnSeek(IReadOnlyList<MsgPosition> positions)
    {
    }

    /// <summary>Reads the channels and writes packs into <paramref name="output"/> until cancelled.</summary>
    private protected abstract Task PumpAsync(ChannelReads reads, ChannelWriter<MsgPack> output, CancellationToken cancellationToken);

    /// <summary>
    /// Decodes a queue message read from <paramref name="channel"/>, with its position; a message that is not a stream
    /// message, or cannot be decoded, is passed over (logged once and counted, as Milvus does) and reported in
    /// <paramref name="skipped"/> instead.
    /// </summary>
    private protected bool TryDecode(string channel, string group, MqMessage message, out (TsMsg Msg, MsgPosition Position) decoded, out SkippedMsg? skipped)
    {
        try
        {
            decoded = Decode(channel, group, message);
            skipped = null;
            return true;
        }
        catch (MsgUnmarshalException ex)
        {
            decoded = default;
            skipped = new SkippedMsg(channel, message.MsgId, ex.Message);
            Log.Skipped(Logger, channel, message.MsgId, group, ex.Message);
            MsgStreamTelemetry.Skipped(channel);
            return false;
        }
    }

    /// <summary>Decodes a queue message read from <paramref name="channel"/>, with its position.</summary>
    private protected (TsMsg Msg, MsgPosition Position) Decode(string channel, string group, MqMessage message)
    {
        var msg = Dispatcher.Unmarshal(message.Payload);
        var position = new MsgPosition(channel, message.MsgId, group, msg.EndTs);
        msg.Position = position;
        return (msg, position);
    }

    private async Task RunPumpAsync(string[] channels, string group, CancellationToken cancellationToken)
    {
        var reads = new ChannelReads(Mq, channels, group, Settings.ReadBatchSize, Settings.EffectiveReadWait, cancellationToken);
        Exception? failure = null;
        try
        {
            await PumpAsync(reads, _output.Writer, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.Stopped(Logger, group);
        }
        catch (Exception ex)
        {
            // Surfaced to every reader: Chan() completes with it and ConsumeAsync throws it.
            Log.Failed(Logger, ex, group);
            failure = ex;
        }
        finally
        {
            await reads.DrainAsync().ConfigureAwait(false);
        }
        _output.Writer.TryComplete(failure);
    }

    private async Task<MsgPosition[]> WriteAsync(string channel, IReadOnlyList<TsMsg> msgs, ReadOnlyMemory<byte>[] payloads, CancellationToken cancellationToken)
    {
        var ids = await Mq.ProduceAsync(channel, payloads, cancellationToken).ConfigureAwait(false);
        var positions = new MsgPosition[ids.Count];
        for (var i = 0; i < ids.Count; i++)
        {
            positions[i] = new MsgPosition(channel, ids[i], "", msgs[i].EndTs);
        }
        return positions;
    }

    private async Task EnsureChannelAsync(string channel, CancellationToken cancellationToken)
    {
        if (await Mq.ChannelExistsAsync(channel, cancellationToken).ConfigureAwait(false))
        {
            return;
        }
        try
        {
            await Mq.CreateChannelAsync(channel, cancellationToken).ConfigureAwait(false);
        }
        catch (MqChannelExistsException)
        {
            // Created by another stream meanwhile: that is what was wanted.
        }
    }

    private string[] RequireProducer()
    {
        lock (_gate)
        {
            ThrowIfClosed();
            if (_producerChannels.Length == 0)
            {
                throw MsgStreamException.Invalid("The stream is not a producer: call AsProducer first.");
            }
            return _producerChannels;
        }
    }

    private void ThrowIfClosed()
    {
        if (_closed)
        {
            throw MsgStreamException.Invalid("The stream is closed.");
        }
    }

    /// <summary>The channel list of a stream or a produce: at least one, each a valid name, none twice.</summary>
    internal static string[] CheckChannels(IReadOnlyList<string> channels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        if (channels.Count == 0)
        {
            throw MsgStreamException.Invalid("A stream needs at least one channel.");
        }
        foreach (var channel in channels)
        {
            MqNames.Validate(channel, "channel");
        }
        if (channels.Distinct(StringComparer.Ordinal).Count() != channels.Count)
        {
            throw MsgStreamException.Invalid("The channel list names a channel twice.");
        }
        return [.. channels];
    }

    /// <summary>Each message in its wire form.</summary>
    internal static ReadOnlyMemory<byte>[] Marshal(IReadOnlyList<TsMsg> msgs)
    {
        var payloads = new ReadOnlyMemory<byte>[msgs.Count];
        for (var i = 0; i < msgs.Count; i++)
        {
            payloads[i] = msgs[i].Marshal();
        }
        return payloads;
    }

    private static MsgPosition[] Flatten(MsgPosition[][] parts) => [.. parts.SelectMany(p => p)];

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Debug, Message = "Message stream {SubName} stopped reading.")]
        public static partial void Stopped(ILogger logger, string subName);

        [LoggerMessage(EventId = 6002, Level = LogLevel.Error, Message = "Message stream {SubName} failed while reading its channels.")]
        public static partial void Failed(ILogger logger, Exception exception, string subName);

        [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Message {MsgId} on channel {Channel} is skipped by stream {SubName}: {Reason}")]
        public static partial void Skipped(ILogger logger, string channel, long msgId, string subName, string reason);
    }
}
