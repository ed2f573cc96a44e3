using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Tso;
using RocksDbSharp;

namespace Milvus.Domain.Mq.RocksMq;

/// <summary>
/// RocksMQ (seed A.4): the embedded message queue on RocksDB. Channels, groups and pages live in memory as a
/// mirror of the meta family, loaded at open; every change is written to RocksDB first, in one atomic batch, and
/// mirrored after the write succeeds. Unlike Milvus's Go RocksMQ, group positions are persisted, seek goes both
/// ways and fails on an unknown id, destroy deletes the data, and retention bounds the disk.
/// </summary>
public sealed partial class RocksMq(
    RocksMqDatabase database,
    IIdAllocator ids,
    IOptions<RocksMqOptions> options,
    TimeProvider time,
    ILogger<RocksMq> logger) : IMqClient
{
    private readonly ConcurrentDictionary<string, RocksMqChannel> _channels = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _channelsGate = new(1, 1);
    private readonly ConcurrentQueue<(byte[] Start, byte[] End)> _pendingCompactions = new();
    private readonly RocksMqOptions _options = options.Value;
    private volatile bool _loaded;

    /// <summary>Loads the channels, groups and pages from the open database.</summary>
    internal void Load()
    {
        using var lease = database.Acquire();
        var loaded = new Dictionary<string, RocksMqChannel>(StringComparer.Ordinal);
        var existing = new HashSet<string>(StringComparer.Ordinal);
        var groups = new List<(RocksMqKeys.MetaKey Key, long Position)>();
        var pages = new List<(string Channel, RocksMqPage Page)>();
        try
        {
            using (var it = database.Db.NewIterator(database.Meta))
            {
                for (it.SeekToFirst(); it.Valid(); it.Next())
                {
                    if (!RocksMqKeys.TryParseMeta(Encoding.ASCII.GetString(it.GetKeySpan()), out var key))
                    {
                        continue;
                    }
                    var value = it.GetValueSpan();
                    switch (key.Kind)
                    {
                        case RocksMqKeys.MetaKind.EndId:
                            Channel(key.Channel).EndId = RocksMqKeys.ReadInt64(value);
                            existing.Add(key.Channel);
                            break;
                        case RocksMqKeys.MetaKind.BeginId:
                            Channel(key.Channel).BeginId = RocksMqKeys.ReadInt64(value);
                            break;
                        case RocksMqKeys.MetaKind.Group:
                            groups.Add((key, RocksMqKeys.ReadInt64(value)));
                            break;
                        case RocksMqKeys.MetaKind.Page:
                            pages.Add((key.Channel, RocksMqKeys.ReadPage(key.LastId, value)));
                            break;
                    }
                }
            }
            foreach (var (key, position) in groups.Where(g => existing.Contains(g.Key.Channel)))
            {
                loaded[key.Channel].Groups[key.Group] = new RocksMqGroup(key.Group, key.Channel) { Position = position };
            }
            foreach (var (channel, page) in pages.Where(p => existing.Contains(p.Channel)))
            {
                loaded[channel].Pages.Add(page);
            }
            _channels.Clear();
            foreach (var name in existing)
            {
                var channel = loaded[name];
                MeasureOpenPage(channel);
                _channels[name] = channel;
            }
            _loaded = true;
        }
        catch (RocksDbException ex)
        {
            throw database.Fail(ex, "load its meta");
        }
        Log.Loaded(logger, _channels.Count, database.Path ?? "");

        RocksMqChannel Channel(string name) => loaded.TryGetValue(name, out var c) ? c : loaded[name] = new RocksMqChannel(name);
    }

    /// <summary>Forgets the loaded state and wakes every waiting consumer (before the database closes).</summary>
    internal void Unload()
    {
        _loaded = false;
        foreach (var channel in _channels.Values)
        {
            channel.Notify();
        }
        _channels.Clear();
    }

    public async Task CreateChannelAsync(string channel, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        using var lease = database.Acquire();
        await _channelsGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_channels.ContainsKey(channel))
            {
                throw new MqChannelExistsException(channel);
            }
            using var batch = new WriteBatch()
                .Put(RocksMqKeys.BeginIdKey(channel), RocksMqKeys.Int64(0), database.Meta)
                .Put(RocksMqKeys.EndIdKey(channel), RocksMqKeys.Int64(0), database.Meta);
            Write(batch, "create a channel");
            _channels[channel] = new RocksMqChannel(channel);
        }
        finally
        {
            _channelsGate.Release();
        }
        Log.ChannelCreated(logger, channel);
    }

    public async Task DestroyChannelsAsync(IReadOnlyCollection<string> channels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channels);
        foreach (var name in channels)
        {
            MqNames.Validate(name, "channel");
        }
        using var lease = database.Acquire();
        await _channelsGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var held = new List<RocksMqChannel>();
        try
        {
            var targets = channels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Select(name => _channels.TryGetValue(name, out var c) ? c : throw new MqChannelNotFoundException(name))
                .ToList();
            foreach (var channel in targets)
            {
                await channel.ProduceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
                held.Add(channel);
            }
            DestroyHeld(targets);
        }
        finally
        {
            foreach (var channel in held)
            {
                channel.ProduceGate.Release();
            }
            _channelsGate.Release();
        }
        foreach (var channel in held)
        {
            channel.Notify();
            Log.ChannelDestroyed(logger, channel.Name);
        }
    }

    public Task<bool> ChannelExistsAsync(string channel, CancellationToken cancellationToken = default)
    {
        using var lease = database.Acquire();
        return Task.FromResult(channel is not null && _channels.ContainsKey(channel));
    }

    public Task<IReadOnlyList<string>> ListChannelsAsync(CancellationToken cancellationToken = default)
    {
        using var lease = database.Acquire();
        return Task.FromResult<IReadOnlyList<string>>([.. _channels.Keys.Order(StringComparer.Ordinal)]);
    }

    public Task CreateConsumerGroupAsync(string channel, string group, MqStartPosition position, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        if (!Enum.IsDefined(position))
        {
            throw new MqInvalidArgumentException($"Position {position} is neither earliest nor latest.");
        }
        using var lease = database.Acquire();
        var state = GetChannel(channel);
        lock (state.Gate)
        {
            if (state.Destroyed)
            {
                throw new MqChannelNotFoundException(channel);
            }
            if (state.Groups.ContainsKey(group))
            {
                throw new MqGroupExistsException(channel, group);
            }
            var created = new RocksMqGroup(group, channel)
            {
                Position = position == MqStartPosition.Latest ? state.EndId + 1 : state.BeginId,
            };
            Put(created.MetaKey, created.Position, "create a consumer group");
            state.Groups[group] = created;
        }
        return Task.CompletedTask;
    }

    public Task DestroyConsumerGroupAsync(string channel, string group, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        using var lease = database.Acquire();
        var state = GetChannel(channel);
        lock (state.Gate)
        {
            if (state.Destroyed || !state.Groups.TryGetValue(group, out var target))
            {
                throw Gone(state, group);
            }
            lock (target.Gate)
            {
                try
                {
                    database.Db.Remove(target.MetaKey, database.Meta, database.WriteOptions);
                }
                catch (RocksDbException ex)
                {
                    throw database.Fail(ex, "destroy a consumer group");
                }
                target.Destroyed = true;
            }
            state.Groups.Remove(group);
        }
        state.Notify();
        return Task.CompletedTask;
    }

    public Task<bool> ConsumerGroupExistsAsync(string channel, string group, CancellationToken cancellationToken = default)
    {
        using var lease = database.Acquire();
        if (channel is null || group is null || !_channels.TryGetValue(channel, out var state))
        {
            return Task.FromResult(false);
        }
        lock (state.Gate)
        {
            return Task.FromResult(!state.Destroyed && state.Groups.ContainsKey(group));
        }
    }

    /// <summary>
    /// Appends a batch. Concurrent produces on one channel are committed together (group commit): the first caller
    /// in the channel's queue leads, writes every queued batch (up to <see cref="MaxCombinedMessages"/>) in one
    /// atomic RocksDB write, and hands the lead to the next queued caller. Each call still returns only when its
    /// own messages are written, and their ids keep the order of the writes. Cancellation is honoured until the
    /// batch is queued; a queued batch is written.
    /// </summary>
    public async Task<IReadOnlyList<long>> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        ArgumentNullException.ThrowIfNull(payloads);
        if (payloads.Count == 0)
        {
            throw new MqInvalidArgumentException("A batch needs at least one message.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        using var lease = database.Acquire();
        var state = GetChannel(channel);
        var request = new RocksMqProduceRequest(payloads);
        if (state.EnqueueProduce(request) || !await request.Done.ConfigureAwait(false))
        {
            await LeadProduceAsync(state).ConfigureAwait(false);
        }
        return request.Error is null ? request.Ids : throw request.Error;
    }

    /// <summary>The most messages one group commit writes; a single larger batch is still written whole.</summary>
    internal const int MaxCombinedMessages = 10_000;

    /// <summary>Writes the batches at the head of the channel's queue in one write, then passes the lead on.</summary>
    private async Task LeadProduceAsync(RocksMqChannel state)
    {
        var batch = state.TakeProduceBatch(MaxCombinedMessages);
        try
        {
            // Destroy holds the produce gate while it deletes, so a write never lands in a destroyed channel.
            await state.ProduceGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (state.Destroyed)
                {
                    throw new MqChannelNotFoundException(state.Name);
                }
                var count = batch.Sum(r => r.Payloads.Count);
                var range = await ids.AllocAsync((uint)count, CancellationToken.None).ConfigureAwait(false);
                Append(state, batch, range);
            }
            finally
            {
                state.ProduceGate.Release();
            }
            state.Notify();
            foreach (var written in batch)
            {
                written.Complete();
            }
        }
        catch (Exception ex)
        {
            // Not swallowed: every caller in the batch, the leader included, throws it.
            foreach (var failed in batch)
            {
                failed.Fail(ex);
            }
        }
        finally
        {
            state.PassProduceLead();
        }
    }

    public async Task<IReadOnlyList<MqMessage>> ConsumeAsync(string channel, string group, int n, TimeSpan wait = default, CancellationToken cancellationToken = default)
    {
        MqNames.ValidateConsume(channel, group, n, wait);
        var started = time.GetTimestamp();
        while (true)
        {
            Task signal;
            IReadOnlyList<MqMessage> messages;
            using (database.Acquire())
            {
                var state = GetChannel(channel);
                // Take the signal before looking: a produce after the look completes this very task.
                signal = state.NextSignal;
                messages = ConsumeNow(state, group, n);
            }
            if (messages.Count > 0 || wait <= TimeSpan.Zero)
            {
                return messages;
            }
            var remaining = wait - time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                return [];
            }
            try
            {
                await signal.WaitAsync(remaining, time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return [];
            }
        }
    }

    public Task SeekAsync(string channel, string group, long msgId, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        using var lease = database.Acquire();
        var state = GetChannel(channel);
        var target = GetGroup(state, group);
        lock (target.Gate)
        {
            ThrowIfGone(state, target);
            bool exists;
            try
            {
                exists = msgId > 0 && database.Db.HasKey(RocksMqKeys.DataKey(state.DataPrefix, msgId), database.Data, null);
            }
            catch (RocksDbException ex)
            {
                throw database.Fail(ex, "look up a message");
            }
            if (!exists)
            {
                throw new MqMsgIdNotFoundException(channel, msgId);
            }
            MoveGroup(target, msgId);
        }
        state.Notify();
        return Task.CompletedTask;
    }

    public Task SeekToAsync(string channel, string group, MqStartPosition position, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        using var lease = database.Acquire();
        var state = GetChannel(channel);
        var target = GetGroup(state, group);
        lock (target.Gate)
        {
            ThrowIfGone(state, target);
            // Retention changes BeginId only while it holds every group's gate, this one included.
            MoveGroup(target, position switch
            {
                MqStartPosition.Earliest => state.BeginId,
                MqStartPosition.Latest => state.EndId + 1,
                _ => throw new MqInvalidArgumentException($"Position {position} is neither earliest nor latest."),
            });
        }
        state.Notify();
        return Task.CompletedTask;
    }

    public Task<long?> GetLatestMsgIdAsync(string channel, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        using var lease = database.Acquire();
        var endId = GetChannel(channel).EndId;
        return Task.FromResult<long?>(endId == 0 ? null : endId);
    }

    /// <summary>
    /// One retention pass: on every channel, deletes the acknowledged pages (every group has consumed past them)
    /// that are older than the retention time, and the oldest acknowledged pages while the acknowledged total is
    /// over the retention size; then compacts the deleted ranges (and destroyed channels) to give the disk back.
    /// A page that some group has not consumed, or on a channel without groups, is never deleted. Public so that
    /// a hosted worker or a recurring job can run it.
    /// </summary>
    public Task<RocksMqRetentionResult> RunRetentionAsync(CancellationToken cancellationToken = default)
    {
        var result = new RocksMqRetentionResult();
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var channel in _channels.Values)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var lease = database.Acquire();
            result = result.Add(Trim(channel, nowMs));
        }
        if (!_pendingCompactions.IsEmpty)
        {
            // Flush first: the logs go once every family is on file, and compaction then drops the deleted files.
            using var lease = database.Acquire();
            try
            {
                database.FlushAll();
                while (_pendingCompactions.TryDequeue(out var range))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    database.Db.CompactRange(range.Start, range.End, database.Data);
                    result = result with { CompactedRanges = result.CompactedRanges + 1 };
                }
            }
            catch (RocksDbException ex)
            {
                throw database.Fail(ex, "compact deleted messages");
            }
        }
        if (result.Pages > 0)
        {
            RocksMqMetrics.RetentionDeleted(result.Bytes);
            Log.RetentionDeleted(logger, result.Pages, result.Messages, result.Bytes);
        }
        return Task.FromResult(result);
    }

    private RocksMqChannel GetChannel(string channel) =>
        _channels.TryGetValue(channel, out var state) ? state
        : _loaded ? throw new MqChannelNotFoundException(channel)
        : throw new MqUnavailableException("RocksMQ is not loaded: its component has not started or is stopping.");

    private static RocksMqGroup GetGroup(RocksMqChannel state, string group)
    {
        lock (state.Gate)
        {
            return !state.Destroyed && state.Groups.TryGetValue(group, out var found) ? found : throw Gone(state, group);
        }
    }

    private static void ThrowIfGone(RocksMqChannel state, RocksMqGroup group)
    {
        if (group.Destroyed)
        {
            throw Gone(state, group.Name);
        }
    }

    private static MqException Gone(RocksMqChannel state, string group) =>
        state.Destroyed ? new MqChannelNotFoundException(state.Name) : new MqGroupNotFoundException(state.Name, group);

    private static void ExitAll(List<Lock> held)
    {
        for (var i = held.Count - 1; i >= 0; i--)
        {
            held[i].Exit();
        }
    }

    private void Append(RocksMqChannel state, List<RocksMqProduceRequest> requests, IdRange range)
    {
        var total = requests.Sum(r => r.Payloads.Count);
        if (range.Count != total || range.Begin <= state.EndId)
        {
            throw new MqUnavailableException(
                $"The id allocator issued [{range.Begin}, {range.End}) for {total} messages on channel '{state.Name}', whose latest id is {state.EndId}.");
        }
        List<RocksMqPage>? closed = null;
        var openBytes = state.OpenPageBytes;
        var openCount = state.OpenPageCount;
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var payloadBytes = 0L;
        var msgId = range.Begin;
        Span<byte> key = stackalloc byte[state.DataPrefix.Length + sizeof(long)];
        using var batch = new WriteBatch();
        foreach (var request in requests)
        {
            var payloads = request.Payloads;
            var produced = request.Ids;
            for (var i = 0; i < payloads.Count; i++, msgId++)
            {
                produced[i] = msgId;
                RocksMqKeys.WriteDataKey(state.DataPrefix, msgId, key);
                var payload = payloads[i].Span;
                batch.Put(key, payload, database.Data);
                payloadBytes += payload.Length;
                openBytes += key.Length + payload.Length;
                openCount++;
                if (openBytes >= _options.PageSize)
                {
                    var page = new RocksMqPage(msgId, openBytes, openCount, nowMs);
                    batch.Put(RocksMqKeys.PageKey(state.Name, msgId), RocksMqKeys.PageValue(page), database.Meta);
                    (closed ??= []).Add(page);
                    openBytes = 0;
                    openCount = 0;
                }
            }
        }
        var endId = msgId - 1;
        Span<byte> endValue = stackalloc byte[sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(endValue, endId);
        batch.Put(state.EndIdKey, endValue, database.Meta);
        Write(batch, "produce");
        lock (state.Gate)
        {
            if (closed is not null)
            {
                state.Pages.AddRange(closed);
            }
            state.OpenPageBytes = openBytes;
            state.OpenPageCount = openCount;
            state.EndId = endId;
        }
        RocksMqMetrics.Produced(payloadBytes);
    }

    private IReadOnlyList<MqMessage> ConsumeNow(RocksMqChannel state, string group, int n)
    {
        var target = GetGroup(state, group);
        lock (target.Gate)
        {
            ThrowIfGone(state, target);
            var endId = state.EndId;
            if (target.Position > endId)
            {
                return [];
            }
            // Ids are unique and increasing, so [position, endId] holds at most endId - position + 1 messages.
            var messages = new List<MqMessage>((int)Math.Min(n, endId - target.Position + 1));
            try
            {
                Span<byte> start = stackalloc byte[state.DataPrefix.Length + sizeof(long)];
                RocksMqKeys.WriteDataKey(state.DataPrefix, target.Position, start);
                using var it = database.Db.NewIterator(database.Data, state.DataReadOptions);
                for (it.Seek(start); it.Valid() && messages.Count < n; it.Next())
                {
                    messages.Add(new MqMessage(RocksMqKeys.MsgIdOf(it.GetKeySpan()), it.GetValueSpan().ToArray()));
                }
            }
            catch (RocksDbException ex)
            {
                throw database.Fail(ex, "read messages");
            }
            if (messages.Count > 0)
            {
                MoveGroup(target, messages[^1].MsgId + 1);
            }
            return messages;
        }
    }

    /// <summary>Persists and mirrors a group's new position; the caller holds the group's gate.</summary>
    private void MoveGroup(RocksMqGroup group, long position)
    {
        Put(group.MetaKey, position, "move a consumer group");
        group.Position = position;
    }

    /// <summary>Destroys channels whose produce gates the caller holds, in one batch.</summary>
    private void DestroyHeld(List<RocksMqChannel> targets)
    {
        var held = new List<Lock>();
        try
        {
            using var batch = new WriteBatch();
            foreach (var channel in targets)
            {
                channel.Gate.Enter();
                held.Add(channel.Gate);
                var groups = channel.GroupsInOrder();
                foreach (var group in groups)
                {
                    group.Gate.Enter();
                    held.Add(group.Gate);
                }
                batch.DeleteRange(channel.DataPrefix, (ulong)channel.DataPrefix.Length, channel.DataUpperBound, (ulong)channel.DataUpperBound.Length, database.Data);
                batch.Delete(RocksMqKeys.BeginIdKey(channel.Name), database.Meta);
                batch.Delete(RocksMqKeys.EndIdKey(channel.Name), database.Meta);
                foreach (var group in groups)
                {
                    batch.Delete(group.MetaKey, database.Meta);
                }
                foreach (var page in channel.Pages)
                {
                    batch.Delete(RocksMqKeys.PageKey(channel.Name, page.LastId), database.Meta);
                }
            }
            Write(batch, "destroy channels");
            foreach (var channel in targets)
            {
                channel.Destroyed = true;
                foreach (var group in channel.Groups.Values)
                {
                    group.Destroyed = true;
                }
                _channels.TryRemove(channel.Name, out _);
                _pendingCompactions.Enqueue((channel.DataPrefix, channel.DataUpperBound));
            }
        }
        finally
        {
            ExitAll(held);
        }
    }

    private RocksMqRetentionResult Trim(RocksMqChannel channel, long nowMs)
    {
        lock (channel.Gate)
        {
            if (channel.Destroyed || channel.Pages.Count == 0 || channel.Groups.Count == 0)
            {
                return new RocksMqRetentionResult();
            }
            var groups = channel.GroupsInOrder();
            var held = new List<Lock>(groups.Count);
            try
            {
                foreach (var group in groups)
                {
                    group.Gate.Enter();
                    held.Add(group.Gate);
                }
                var consumedBelow = groups.Min(g => g.Position);
                var pages = channel.Pages;
                var acked = 0;
                var ackedBytes = 0L;
                while (acked < pages.Count && pages[acked].LastId < consumedBelow)
                {
                    ackedBytes += pages[acked].Bytes;
                    acked++;
                }
                var delete = 0;
                if (_options.RetentionTimeInMinutes >= 0)
                {
                    var maxAgeMs = _options.RetentionTimeInMinutes * 60_000;
                    while (delete < acked && nowMs - pages[delete].ClosedAtMs >= maxAgeMs)
                    {
                        delete++;
                    }
                }
                if (_options.RetentionSizeInMB >= 0)
                {
                    var limit = _options.RetentionSizeInMB * 1024 * 1024;
                    var bySize = 0;
                    for (var kept = ackedBytes; bySize < acked && kept > limit; bySize++)
                    {
                        kept -= pages[bySize].Bytes;
                    }
                    delete = Math.Max(delete, bySize);
                }
                if (delete == 0)
                {
                    return new RocksMqRetentionResult();
                }
                var newBegin = pages[delete - 1].LastId + 1;
                var start = RocksMqKeys.DataKey(channel.DataPrefix, channel.BeginId);
                var end = RocksMqKeys.DataKey(channel.DataPrefix, newBegin);
                using var batch = new WriteBatch()
                    .DeleteRange(start, (ulong)start.Length, end, (ulong)end.Length, database.Data)
                    .Put(RocksMqKeys.BeginIdKey(channel.Name), RocksMqKeys.Int64(newBegin), database.Meta);
                var removed = pages.Take(delete).ToList();
                foreach (var page in removed)
                {
                    batch.Delete(RocksMqKeys.PageKey(channel.Name, page.LastId), database.Meta);
                }
                Write(batch, "delete retained pages");
                pages.RemoveRange(0, delete);
                channel.BeginId = newBegin;
                _pendingCompactions.Enqueue((start, end));
                return new RocksMqRetentionResult(delete, removed.Sum(p => p.Count), removed.Sum(p => p.Bytes), 0);
            }
            finally
            {
                ExitAll(held);
            }
        }
    }

    /// <summary>Sizes the messages after the last closed page (the page still being filled).</summary>
    private void MeasureOpenPage(RocksMqChannel channel)
    {
        var from = channel.Pages.Count > 0 ? channel.Pages[^1].LastId + 1 : channel.BeginId;
        using var it = database.Db.NewIterator(database.Data, channel.DataReadOptions);
        for (it.Seek(RocksMqKeys.DataKey(channel.DataPrefix, from)); it.Valid(); it.Next())
        {
            channel.OpenPageBytes += it.GetKeySpan().Length + it.GetValueSpan().Length;
            channel.OpenPageCount++;
        }
    }

    private void Put(byte[] key, long value, string what)
    {
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        try
        {
            database.Db.Put(key, bytes, database.Meta, database.WriteOptions);
        }
        catch (RocksDbException ex)
        {
            throw database.Fail(ex, what);
        }
    }

    private void Write(WriteBatch batch, string what)
    {
        try
        {
            database.Db.Write(batch, database.WriteOptions);
        }
        catch (RocksDbException ex)
        {
            throw database.Fail(ex, what);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "RocksMQ loaded {Channels} channels from {Path}.")]
        public static partial void Loaded(ILogger logger, int channels, string path);

        [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "RocksMQ channel {Channel} created.")]
        public static partial void ChannelCreated(ILogger logger, string channel);

        [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "RocksMQ channel {Channel} destroyed with its messages and groups.")]
        public static partial void ChannelDestroyed(ILogger logger, string channel);

        [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "RocksMQ retention deleted {Pages} pages ({Messages} messages, {Bytes} bytes).")]
        public static partial void RetentionDeleted(ILogger logger, int pages, long messages, long bytes);
    }
}

/// <summary>What one retention pass did.</summary>
public sealed record RocksMqRetentionResult(int Pages = 0, long Messages = 0, long Bytes = 0, int CompactedRanges = 0)
{
    internal RocksMqRetentionResult Add(RocksMqRetentionResult other) =>
        new(Pages + other.Pages, Messages + other.Messages, Bytes + other.Bytes, CompactedRanges + other.CompactedRanges);
}
