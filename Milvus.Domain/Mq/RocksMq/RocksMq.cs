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
                batch.DeleteRange(channel.DataPrefix, (ulong)channel.DataPrefix.Length, channel.DataUpperBound, (ulong)channel.DataUpperBound.Length, database.Keys);
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
