using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Milvus.Domain.Mq.Nats;

/// <summary>
/// The message queue on NATS JetStream: two streams per <see cref="NatsMqOptions.StreamPrefix"/>.
/// <list type="bullet">
/// <item><c>{prefix}_data</c> holds the batches: each produce call is one JetStream message on the subject
/// <c>{prefix}.d.{incarnation}</c> with the whole batch framed in it (<see cref="NatsMqBatch"/>), so a batch is stored
/// whole or not at all. A msg id is the stream sequence (plus 2^20) shifted left by 20 bits plus the index in the batch:
/// ids increase across the whole queue, so an id of one channel is never stored on another.</item>
/// <item><c>{prefix}_meta</c> keeps one message per subject: a channel's record <c>{prefix}.m.c.{name}</c>, whose stream
/// sequence is the channel's incarnation (a re-created channel gets a new one, and so an empty data subject), and each
/// consumer group's position <c>{prefix}.m.g.{incarnation}.{group}</c> (the next JetStream sequence and index).</item>
/// </list>
/// Every change of a record is a publish that expects the record's last sequence (compare-and-set), so a consume moves
/// its group past exactly what it returned, and concurrent consumers of one group never get the same message. Reads go
/// through the stream leader (<c>STREAM.MSG.GET</c>), so a gateway reads what another has just written. A long poll
/// waits for a core NATS wake-up (<c>{prefix}.w.{name}</c>) that each produce, seek and destroy publishes, and looks
/// again at least every <see cref="PollInterval"/>. A NATS that is down fails each call with
/// <see cref="MqUnavailableException"/>. Thread-safe.
/// </summary>
public sealed partial class NatsMqClient : IMqClient, IAsyncDisposable
{
    /// <summary>How long a waiting consumer trusts its wake-up before it looks again.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    // JetStream API error codes (nats-server's errors.json).
    private const int NoMessageFound = 10037;
    private const int WrongLastSequence = 10071;
    private const int InsufficientResources = 10023;
    private const int ReplicasNotSupported = 10074;

    // How many bytes of partly read batches a client keeps (see KeepPartial).
    private const long PartialBudget = 64L * 1024 * 1024;

    // A compare-and-set that keeps losing to other writers gives up after this many tries.
    private const int MaxConflicts = 1000;

    private readonly NatsConnection _connection;
    private readonly NatsJSContext _js;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _prefix;
    private readonly string _wakePrefix;
    private readonly SemaphoreSlim _streamsGate = new(1, 1);
    private readonly SemaphoreSlim _subscribeGate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _signals = new(StringComparer.Ordinal);
    private readonly MqMetrics _metrics = new("nats");
    private readonly ConcurrentDictionary<(string Channel, string Group), PendingRead> _pending = new();
    // Per data subject, the last batch a consume stopped inside, and the bytes they take together.
    private readonly ConcurrentDictionary<string, StoredMessage> _partial = new(StringComparer.Ordinal);
    private long _partialBytes;
    // Where the retention pass's sweep of expired idempotency keys goes on (the last key subject it read).
    private string _keySweepFrom = "";
    private volatile INatsJSStream? _data;
    private volatile INatsJSStream? _meta;
    private Task? _wakeLoop;

    /// <summary>A queue on the NATS of <paramref name="options"/>, not connected yet: <see cref="OpenAsync"/> connects.</summary>
    public NatsMqClient(NatsMqOptions options, TimeProvider? time = null, ILogger<NatsMqClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _prefix = options.StreamPrefix;
        _wakePrefix = _prefix + ".w.";
        Replicas = options.Replicas;
        _connection = new NatsConnection(new NatsOpts
        {
            Url = options.Url,
            Name = "milvus-gateway",
            AuthOpts = new NatsAuthOpts
            {
                Username = options.User.Length > 0 ? options.User : null,
                Password = options.Password.Length > 0 ? options.Password : null,
                Token = options.Token.Length > 0 ? options.Token : null,
            },
            ConnectTimeout = TimeSpan.FromSeconds(2),
            RequestTimeout = TimeSpan.FromSeconds(5),
            MaxReconnectRetry = -1,
        });
        _js = new NatsJSContext(_connection);
    }

    /// <summary>Connects to the NATS of <paramref name="options"/> and returns the queue; a NATS that is down does not fail it.</summary>
    public static async Task<NatsMqClient> ConnectAsync(NatsMqOptions options, TimeProvider? time = null, ILogger<NatsMqClient>? logger = null)
    {
        var client = new NatsMqClient(options, time, logger);
        await client.OpenAsync(CancellationToken.None).ConfigureAwait(false);
        return client;
    }

    /// <summary>What the queue's streams and subjects start with.</summary>
    public string StreamPrefix => _prefix;

    /// <summary>Replicas of the queue's streams.</summary>
    public int Replicas { get; }

    /// <summary>The data stream's name.</summary>
    public string DataStream => _prefix + "_data";

    /// <summary>The meta stream's name.</summary>
    public string MetaStream => _prefix + "_meta";

    /// <summary>
    /// Connects and makes sure the streams exist. It does not wait for a NATS that is down: the connection heals by
    /// itself, and calls answer <see cref="MqUnavailableException"/> meanwhile.
    /// </summary>
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _connection.ConnectAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
            await EnsureStreamsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or TimeoutException or MqUnavailableException)
        {
            Log.NotConnected(_logger, e);
        }
    }

    /// <summary>Asks JetStream for both streams' state, for readiness checks; the time it took when it answers.</summary>
    /// <exception cref="MqUnavailableException">NATS or a stream (without its quorum) does not answer.</exception>
    public Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default) => Run(async () =>
    {
        var started = _time.GetTimestamp();
        await _data!.RefreshAsync(cancellationToken).ConfigureAwait(false);
        await _meta!.RefreshAsync(cancellationToken).ConfigureAwait(false);
        return _time.GetElapsedTime(started);
    }, cancellationToken);

    public Task CreateChannelAsync(string channel, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        return Run(async () =>
        {
            if (!await TryCreateAsync(ChannelSubject(channel), System.Text.Encoding.UTF8.GetBytes(channel), cancellationToken).ConfigureAwait(false))
            {
                throw new MqChannelExistsException(channel);
            }
            Log.ChannelCreated(_logger, channel);
            return true;
        }, cancellationToken);
    }

    public Task DestroyChannelsAsync(IReadOnlyCollection<string> channels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channels);
        foreach (var name in channels)
        {
            MqNames.Validate(name, "channel");
        }
        var names = channels.Distinct(StringComparer.Ordinal).ToList();
        if (names.Count == 0)
        {
            return Task.CompletedTask;
        }
        return Run(async () =>
        {
            var incarnations = new List<ulong>(names.Count);
            foreach (var name in names)
            {
                incarnations.Add(await IncarnationAsync(name, cancellationToken).ConfigureAwait(false) ?? throw new MqChannelNotFoundException(name));
            }
            // The records go first (each only in the incarnation seen, not a newer one): from then on every call answers
            // not found. Groups, keys and batches of the incarnation are then unreachable, and go too; what a failure here
            // leaves behind, the retention pass removes.
            for (var i = 0; i < names.Count; i++)
            {
                await _meta!.PurgeAsync(new StreamPurgeRequest { Filter = ChannelSubject(names[i]), Seq = incarnations[i] + 1 }, cancellationToken).ConfigureAwait(false);
            }
            for (var i = 0; i < names.Count; i++)
            {
                await _meta!.PurgeAsync(new StreamPurgeRequest { Filter = GroupSubject(incarnations[i], "*", raw: true) }, cancellationToken).ConfigureAwait(false);
                await _meta!.PurgeAsync(new StreamPurgeRequest { Filter = KeySubject(incarnations[i], "*", raw: true) }, cancellationToken).ConfigureAwait(false);
                await _data!.PurgeAsync(new StreamPurgeRequest { Filter = DataSubject(incarnations[i]) }, cancellationToken).ConfigureAwait(false);
                await WakeAsync(names[i]).ConfigureAwait(false);
                Log.ChannelDestroyed(_logger, names[i]);
            }
            return true;
        }, cancellationToken);
    }

    public async Task<bool> ChannelExistsAsync(string channel, CancellationToken cancellationToken = default) =>
        MqNames.IsValid(channel) && await Run(async () => await IncarnationAsync(channel, cancellationToken).ConfigureAwait(false) is not null, cancellationToken).ConfigureAwait(false);

    public Task<IReadOnlyList<string>> ListChannelsAsync(CancellationToken cancellationToken = default) => Run(async () =>
    {
        var names = await SubjectsAsync(_meta!, _prefix + ".m.c.*", cancellationToken).ConfigureAwait(false);
        var channelPrefix = _prefix + ".m.c.";
        IReadOnlyList<string> list = [.. names.Keys.Select(s => FromToken(s[channelPrefix.Length..])).Order(StringComparer.Ordinal)];
        return list;
    }, cancellationToken);

    public Task CreateConsumerGroupAsync(string channel, string group, MqStartPosition position, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        return Run(async () =>
        {
            var incarnation = await IncarnationAsync(channel, cancellationToken).ConfigureAwait(false) ?? throw new MqChannelNotFoundException(channel);
            var start = await StartAsync(incarnation, position, cancellationToken).ConfigureAwait(false);
            if (!await TryCreateAsync(GroupSubject(incarnation, group), Position(start.Seq, start.Index, NewToken()), cancellationToken).ConfigureAwait(false))
            {
                throw new MqGroupExistsException(channel, group);
            }
            return true;
        }, cancellationToken);
    }

    public Task DestroyConsumerGroupAsync(string channel, string group, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        return Run(async () =>
        {
            var (incarnation, record) = await GroupAsync(channel, group, cancellationToken).ConfigureAwait(false);
            await _meta!.PurgeAsync(new StreamPurgeRequest { Filter = GroupSubject(incarnation, group), Seq = record.Seq + 1 }, cancellationToken).ConfigureAwait(false);
            await WakeAsync(channel).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    public async Task<bool> ConsumerGroupExistsAsync(string channel, string group, CancellationToken cancellationToken = default) =>
        MqNames.IsValid(channel) && MqNames.IsValid(group) && await Run(async () =>
            await IncarnationAsync(channel, cancellationToken).ConfigureAwait(false) is { } incarnation
            && await LastAsync(_meta!, GroupSubject(incarnation, group), cancellationToken).ConfigureAwait(false) is not null,
            cancellationToken).ConfigureAwait(false);

    public Task<IReadOnlyList<long>> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken = default)
    {
        ValidateBatch(channel, payloads);
        return Run(async () =>
        {
            var incarnation = await IncarnationAsync(channel, cancellationToken).ConfigureAwait(false) ?? throw new MqChannelNotFoundException(channel);
            var (seq, _) = await PublishBatchAsync(channel, incarnation, payloads, msgId: null, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<long> ids = Ids(seq, payloads.Count);
            return ids;
        }, cancellationToken);
    }

    /// <exception cref="MqInvalidArgumentException">The batch is empty or holds more than a NATS batch may.</exception>
    private static void ValidateBatch(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads)
    {
        MqNames.Validate(channel, "channel");
        ArgumentNullException.ThrowIfNull(payloads);
        if (payloads.Count == 0)
        {
            throw new MqInvalidArgumentException("A batch needs at least one message.");
        }
        if (payloads.Count > NatsMqBatch.MaxCount)
        {
            throw new MqInvalidArgumentException($"A batch on NATS holds at most {NatsMqBatch.MaxCount} messages, not {payloads.Count}.");
        }
    }

    /// <summary>
    /// Publishes the batch as one message on the incarnation's data subject and wakes the channel's consumers. With a
    /// <paramref name="msgId"/> (<c>Nats-Msg-Id</c>), JetStream stores it once within the data stream's duplicate window
    /// and answers a repeat with the first one's sequence and <c>Duplicate</c>.
    /// </summary>
    private async Task<(ulong Seq, bool Duplicate)> PublishBatchAsync(string channel, ulong incarnation, IReadOnlyList<ReadOnlyMemory<byte>> payloads, string? msgId, CancellationToken cancellationToken)
    {
        var size = NatsMqBatch.Size(payloads);
        // A batch is one JetStream message, so it must fit the server's max_payload.
        if (_connection.ServerInfo is { } info && size > info.MaxPayload)
        {
            throw new MqMessageTooLargeException(size, info.MaxPayload);
        }
        var opts = msgId is null ? null : new NatsJSPubOpts { MsgId = msgId };
        var ack = await _js.PublishAsync(DataSubject(incarnation), NatsMqBatch.Encode(payloads, (int)size), opts: opts, cancellationToken: cancellationToken).ConfigureAwait(false);
        // A duplicate is an answer here (the first one's sequence), not a failure; EnsureSuccess would throw it.
        if (ack.Error is not null || !ack.Duplicate)
        {
            ack.EnsureSuccess();
        }
        if (!ack.Duplicate)
        {
            _metrics.Produced(size);
            await WakeAsync(channel).ConfigureAwait(false);
        }
        return (ack.Seq, ack.Duplicate);
    }

    /// <summary>The msg ids of the <paramref name="count"/> payloads of the batch at <paramref name="seq"/>.</summary>
    private static long[] Ids(ulong seq, int count)
    {
        var ids = new long[count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = NatsMqBatch.MsgId(seq, i);
        }
        return ids;
    }

    public async Task<IReadOnlyList<MqMessage>> ConsumeAsync(string channel, string group, int n, TimeSpan wait = default, CancellationToken cancellationToken = default)
    {
        MqNames.ValidateConsume(channel, group, n, wait);
        var started = _time.GetTimestamp();
        if (wait > TimeSpan.Zero)
        {
            await EnsureSubscribedAsync(cancellationToken).ConfigureAwait(false);
        }
        while (true)
        {
            // Take the signal before looking: a wake-up that arrives after the look completes this very task.
            var signal = wait > TimeSpan.Zero ? Signal(channel) : Task.CompletedTask;
            var messages = await Run(() => ReadAsync(channel, group, n, cancellationToken), cancellationToken).ConfigureAwait(false);
            if (messages.Count > 0 || wait <= TimeSpan.Zero)
            {
                return messages;
            }
            var remaining = wait - _time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                return [];
            }
            try
            {
                await signal.WaitAsync(remaining < PollInterval ? remaining : PollInterval, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Look again: either the wait is over, or this is the periodic look that covers a lost wake-up.
            }
        }
    }

    public Task SeekAsync(string channel, string group, long msgId, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        return Run(async () =>
        {
            var (incarnation, _) = await GroupAsync(channel, group, cancellationToken).ConfigureAwait(false);
            var seq = NatsMqBatch.Seq(msgId);
            var index = NatsMqBatch.Index(msgId);
            var stored = msgId > 0 && seq > 0 ? await GetAsync(_data!, new StreamMsgGetRequest { Seq = seq }, cancellationToken).ConfigureAwait(false) : null;
            if (stored is null || stored.Subject != DataSubject(incarnation) || index >= NatsMqBatch.Count(stored.Data.Span))
            {
                throw new MqMsgIdNotFoundException(channel, msgId);
            }
            await MoveAsync(channel, group, (seq, index), cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    public Task SeekToAsync(string channel, string group, MqStartPosition position, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        return Run(async () =>
        {
            var (incarnation, _) = await GroupAsync(channel, group, cancellationToken).ConfigureAwait(false);
            var start = await StartAsync(incarnation, position, cancellationToken).ConfigureAwait(false);
            await MoveAsync(channel, group, start, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    public Task<long?> GetLatestMsgIdAsync(string channel, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        return Run(async () =>
        {
            var incarnation = await IncarnationAsync(channel, cancellationToken).ConfigureAwait(false) ?? throw new MqChannelNotFoundException(channel);
            var last = await LastAsync(_data!, DataSubject(incarnation), cancellationToken).ConfigureAwait(false);
            return last is null ? (long?)null : NatsMqBatch.MsgId(last.Seq, NatsMqBatch.Count(last.Data.Span) - 1);
        }, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_wakeLoop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }
        await _connection.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _streamsGate.Dispose();
        _subscribeGate.Dispose();
    }

    /// <summary>
    /// Reads up to <paramref name="n"/> messages at the group's position and moves the group past them with a
    /// compare-and-set on its record; when another consumer of the group moved it meanwhile, reads again from there.
    /// </summary>
    private async Task<IReadOnlyList<MqMessage>> ReadAsync(string channel, string group, int n, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxConflicts; attempt++)
        {
            var (incarnation, record) = await GroupAsync(channel, group, cancellationToken).ConfigureAwait(false);
            var (seq, index, token) = Position(record.Data.Span);
            if (_pending.TryRemove((channel, group), out var pending) && pending.Token == token && pending.Incarnation == incarnation)
            {
                // The position write of an earlier consume whose answer was lost did land: its messages are this answer.
                return pending.Messages;
            }
            var messages = new List<MqMessage>(Math.Min(n, 1024));
            var subject = DataSubject(incarnation);
            while (messages.Count < n)
            {
                // A batch that a consume stopped inside is kept, so that the next consume does not fetch it again.
                var stored = _partial.TryGetValue(subject, out var kept) && kept.Seq == seq
                    ? kept
                    : await GetAsync(_data!, new StreamMsgGetRequest { Seq = seq, NextBySubj = subject }, cancellationToken).ConfigureAwait(false);
                if (stored is null)
                {
                    break;
                }
                var start = stored.Seq == seq ? index : 0;
                var count = NatsMqBatch.Count(stored.Data.Span);
                var take = Math.Min(n - messages.Count, count - start);
                if (take > 0)
                {
                    NatsMqBatch.Decode(stored.Data, stored.Seq, start, take, messages);
                }
                (seq, index) = start + Math.Max(take, 0) >= count ? (stored.Seq + 1, 0) : (stored.Seq, start + take);
                if (index > 0)
                {
                    KeepPartial(subject, stored);
                }
            }
            if (messages.Count == 0)
            {
                return [];
            }
            var written = NewToken();
            bool moved;
            try
            {
                moved = await TryReplaceAsync(GroupSubject(incarnation, group), Position(seq, index, written), record.Seq, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException)
            {
                // The write may have landed without its answer: the next consume of the group here reads the record back,
                // and when it holds this write's token, answers these messages, so none is skipped.
                _pending[(channel, group)] = new PendingRead(incarnation, written, messages);
                throw;
            }
            if (moved)
            {
                return messages;
            }
        }
        throw new MqUnavailableException($"Consumer group '{group}' on channel '{channel}' kept moving under this consume; try again.");
    }

    /// <summary>
    /// Keeps the batch that a consume stopped inside, one per channel, within <see cref="PartialBudget"/> bytes in all.
    /// A stored batch never changes, and one that a group has not read whole is never removed by retention, so a kept
    /// batch is what a fetch would answer for as long as its channel lives.
    /// </summary>
    private void KeepPartial(string subject, StoredMessage stored)
    {
        if (_partial.TryGetValue(subject, out var old) && old.Seq == stored.Seq)
        {
            return;
        }
        if (Interlocked.Add(ref _partialBytes, stored.Data.Length - (old?.Data.Length ?? 0)) > PartialBudget)
        {
            // Over the budget (batches of destroyed channels stay until then): start again empty; the sum is approximate
            // under concurrent consumes, which only moves when the next clearing comes.
            _partial.Clear();
            Interlocked.Exchange(ref _partialBytes, stored.Data.Length);
        }
        _partial[subject] = stored;
    }

    /// <summary>Sets the group's position, whatever it was, with a compare-and-set that retries while others move it.</summary>
    private async Task MoveAsync(string channel, string group, (ulong Seq, int Index) position, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxConflicts; attempt++)
        {
            var (incarnation, record) = await GroupAsync(channel, group, cancellationToken).ConfigureAwait(false);
            if (await TryReplaceAsync(GroupSubject(incarnation, group), Position(position.Seq, position.Index, NewToken()), record.Seq, cancellationToken).ConfigureAwait(false))
            {
                await WakeAsync(channel).ConfigureAwait(false);
                return;
            }
        }
        throw new MqUnavailableException($"Consumer group '{group}' on channel '{channel}' kept moving under this seek; try again.");
    }

    /// <summary>The group's position for a start: the channel's first sequence, or past its latest batch.</summary>
    private async Task<(ulong Seq, int Index)> StartAsync(ulong incarnation, MqStartPosition position, CancellationToken cancellationToken)
    {
        switch (position)
        {
            case MqStartPosition.Earliest:
                return (1, 0);
            case MqStartPosition.Latest:
                var last = await LastAsync(_data!, DataSubject(incarnation), cancellationToken).ConfigureAwait(false);
                return (last is null ? 1 : last.Seq + 1, 0);
            default:
                throw new MqInvalidArgumentException($"Position {position} is neither earliest nor latest.");
        }
    }

    /// <summary>The channel's incarnation (its record's sequence), or null when the channel does not exist.</summary>
    private async Task<ulong?> IncarnationAsync(string channel, CancellationToken cancellationToken) =>
        (await LastAsync(_meta!, ChannelSubject(channel), cancellationToken).ConfigureAwait(false))?.Seq;

    /// <summary>The channel's incarnation and the group's record.</summary>
    /// <exception cref="MqChannelNotFoundException">The channel does not exist.</exception>
    /// <exception cref="MqGroupNotFoundException">The group does not exist on it.</exception>
    private async Task<(ulong Incarnation, StoredMessage Record)> GroupAsync(string channel, string group, CancellationToken cancellationToken)
    {
        var incarnation = await IncarnationAsync(channel, cancellationToken).ConfigureAwait(false) ?? throw new MqChannelNotFoundException(channel);
        var record = await LastAsync(_meta!, GroupSubject(incarnation, group), cancellationToken).ConfigureAwait(false) ?? throw new MqGroupNotFoundException(channel, group);
        return (incarnation, record);
    }

    private Task<StoredMessage?> LastAsync(INatsJSStream stream, string subject, CancellationToken cancellationToken) =>
        GetAsync(stream, new StreamMsgGetRequest { LastBySubj = subject }, cancellationToken);

    /// <summary>A stored message through the stream's leader, or null when there is none.</summary>
    private static async Task<StoredMessage?> GetAsync(INatsJSStream stream, StreamMsgGetRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return (await stream.GetAsync(request, cancellationToken).ConfigureAwait(false)).Message;
        }
        catch (NatsJSApiException e) when (e.Error.ErrCode == NoMessageFound)
        {
            return null;
        }
    }

    /// <summary>Writes the record if the subject has none; false when it has one.</summary>
    private Task<bool> TryCreateAsync(string subject, byte[] data, CancellationToken cancellationToken) =>
        TryReplaceAsync(subject, data, 0, cancellationToken);

    /// <summary>Writes the record if the subject's last one is still at <paramref name="expected"/> (0: none); false otherwise.</summary>
    private async Task<bool> TryReplaceAsync(string subject, byte[] data, ulong expected, CancellationToken cancellationToken) =>
        await TryPutAsync(subject, data, expected, cancellationToken).ConfigureAwait(false) > 0;

    /// <summary>As <see cref="TryReplaceAsync"/>, with the written record's sequence, or 0 when it was not written.</summary>
    private async Task<ulong> TryPutAsync(string subject, byte[] data, ulong expected, CancellationToken cancellationToken)
    {
        try
        {
            var ack = await _js.PublishAsync(subject, data, opts: new NatsJSPubOpts { ExpectedLastSubjectSequence = expected }, cancellationToken: cancellationToken).ConfigureAwait(false);
            ack.EnsureSuccess();
            return ack.Seq;
        }
        catch (NatsJSApiException e) when (e.Error.ErrCode == WrongLastSequence)
        {
            return 0;
        }
    }

    /// <summary>Per subject under the filter, how many messages the stream holds there.</summary>
    internal async Task<IDictionary<string, long>> SubjectsAsync(INatsJSStream stream, string filter, CancellationToken cancellationToken)
    {
        var subjects = new Dictionary<string, long>(StringComparer.Ordinal);
        // The server answers at most 100,000 subjects a page; offset asks for the next.
        while (true)
        {
            var info = await _js.GetStreamAsync(stream.Info.Config.Name!, new StreamInfoRequest { SubjectsFilter = filter, Offset = subjects.Count }, cancellationToken).ConfigureAwait(false);
            if (info.Info.State.Subjects is not { Count: > 0 } page)
            {
                return subjects;
            }
            var before = subjects.Count;
            foreach (var (subject, count) in page)
            {
                subjects[subject] = count;
            }
            // NumSubjects counts the whole stream, not the filter: a page that adds nothing is the end too.
            if (subjects.Count >= info.Info.State.NumSubjects || subjects.Count == before)
            {
                return subjects;
            }
        }
    }

    /// <summary>Creates or updates the two streams once; a failure is answered, and the next call tries again.</summary>
    private async Task EnsureStreamsAsync(CancellationToken cancellationToken)
    {
        if (_data is not null)
        {
            return;
        }
        await _streamsGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_data is null)
            {
                _meta = await _js.CreateOrUpdateStreamAsync(new StreamConfig(MetaStream, [_prefix + ".m.>"])
                {
                    Description = "Milvus queue: channel records and consumer group positions, one message per subject.",
                    Storage = StreamConfigStorage.File,
                    NumReplicas = Replicas,
                    MaxMsgsPerSubject = 1,
                }, cancellationToken).ConfigureAwait(false);
                _data = await _js.CreateOrUpdateStreamAsync(new StreamConfig(DataStream, [_prefix + ".d.*"])
                {
                    Description = "Milvus queue: one message per produced batch, on the subject of its channel's incarnation.",
                    Storage = StreamConfigStorage.File,
                    NumReplicas = Replicas,
                }, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _streamsGate.Release();
        }
    }

    /// <summary>Runs a call after making sure of the streams, with NATS's failures as <see cref="MqUnavailableException"/>.</summary>
    private async Task<T> Run<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await EnsureStreamsAsync(cancellationToken).ConfigureAwait(false);
            return await call().ConfigureAwait(false);
        }
        catch (NatsJSApiException e)
        {
            // Too few servers (or storage) for the streams' replicas is a setting to change, and the message says which.
            var hint = e.Error.ErrCode is InsufficientResources or ReplicasNotSupported
                ? $" Milvus:Nats:Replicas is {Replicas}: it needs that many JetStream servers in the cluster."
                : "";
            throw new MqUnavailableException($"NATS JetStream refused the call: {e.Error.Description} (error {e.Error.ErrCode}).{hint}", e);
        }
        catch (NatsException e)
        {
            throw new MqUnavailableException($"NATS is unavailable: {e.Message}", e);
        }
        catch (TimeoutException e)
        {
            throw new MqUnavailableException($"NATS did not answer in time: {e.Message}", e);
        }
        catch (FormatException e)
        {
            throw new MqUnavailableException($"The queue's data stream holds a message it did not write: {e.Message}", e);
        }
    }

    private Task Signal(string channel) =>
        _signals.GetOrAdd(channel, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    private void Notify(string channel)
    {
        if (_signals.TryRemove(channel, out var signal))
        {
            signal.TrySetResult();
        }
    }

    /// <summary>Wakes the consumers waiting on the channel, here and (by a core NATS message) on other gateways.</summary>
    private async Task WakeAsync(string channel)
    {
        Notify(channel);
        try
        {
            await _connection.PublishAsync(_wakePrefix + ToToken(channel)).ConfigureAwait(false);
        }
        catch (NatsException e)
        {
            // What the wake-up announces is stored; a waiting consumer elsewhere sees it at its next periodic look.
            Log.WakeFailed(_logger, channel, e);
        }
    }

    /// <summary>Subscribes to the wake-ups once; a failure is an unavailable error, and the next wait tries again.</summary>
    private async Task EnsureSubscribedAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _wakeLoop) is not null)
        {
            return;
        }
        await _subscribeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_wakeLoop is null)
            {
                var subscription = await Run(async () => await _connection.SubscribeCoreAsync<byte[]>(_wakePrefix + "*", cancellationToken: cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _wakeLoop, WakeLoopAsync(subscription));
            }
        }
        finally
        {
            _subscribeGate.Release();
        }
    }

    private async Task WakeLoopAsync(INatsSub<byte[]> subscription)
    {
        await using (subscription.ConfigureAwait(false))
        {
            try
            {
                await foreach (var message in subscription.Msgs.ReadAllAsync(_stopping.Token).ConfigureAwait(false))
                {
                    Notify(FromToken(message.Subject[_wakePrefix.Length..]));
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                // Disposed.
            }
        }
    }

    private string ChannelSubject(string channel) => $"{_prefix}.m.c.{ToToken(channel)}";

    private string GroupSubject(ulong incarnation, string group, bool raw = false) =>
        string.Create(CultureInfo.InvariantCulture, $"{_prefix}.m.g.{incarnation}.{(raw ? group : ToToken(group))}");

    /// <summary>The data subject of a channel's incarnation.</summary>
    internal string DataSubject(ulong incarnation) => string.Create(CultureInfo.InvariantCulture, $"{_prefix}.d.{incarnation}");

    // A name's '.' would split the subject into tokens; '=' is in no name, so the mapping is reversible.
    private static string ToToken(string name) => name.Replace('.', '=');

    private static string FromToken(string token) => token.Replace('=', '.');

    /// <summary>A group record: the next sequence and index to read, and a token that tells one write from another.</summary>
    private static byte[] Position(ulong seq, int index, long token)
    {
        var data = new byte[20];
        BinaryPrimitives.WriteUInt64LittleEndian(data, seq);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(8), index);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(12), token);
        return data;
    }

    internal static (ulong Seq, int Index, long Token) Position(ReadOnlySpan<byte> data) =>
        data.Length == 20
            ? (BinaryPrimitives.ReadUInt64LittleEndian(data), BinaryPrimitives.ReadInt32LittleEndian(data[8..]), BinaryPrimitives.ReadInt64LittleEndian(data[12..]))
            : throw new FormatException("A consumer group record is not a position.");

    private static long NewToken() => BinaryPrimitives.ReadInt64LittleEndian(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    /// <summary>A consume whose position write got no answer: what it read, and the token of its write.</summary>
    private sealed record PendingRead(ulong Incarnation, long Token, IReadOnlyList<MqMessage> Messages);

    private static partial class Log
    {
        [LoggerMessage(EventId = 5151, Level = LogLevel.Information, Message = "NATS MQ channel {Channel} created.")]
        public static partial void ChannelCreated(ILogger logger, string channel);

        [LoggerMessage(EventId = 5152, Level = LogLevel.Information, Message = "NATS MQ channel {Channel} destroyed with its messages and groups.")]
        public static partial void ChannelDestroyed(ILogger logger, string channel);

        [LoggerMessage(EventId = 5153, Level = LogLevel.Warning, Message = "NATS MQ could not connect at start; calls answer 503 until NATS answers.")]
        public static partial void NotConnected(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 5154, Level = LogLevel.Debug, Message = "NATS MQ could not publish the wake-up of channel {Channel}; consumers elsewhere see its change at their next look.")]
        public static partial void WakeFailed(ILogger logger, string channel, Exception exception);

        [LoggerMessage(EventId = 5155, Level = LogLevel.Information, Message = "NATS MQ retention removed {Batches} batches of channel {Channel}.")]
        public static partial void RetentionPurged(ILogger logger, string channel, long batches);
    }
}
