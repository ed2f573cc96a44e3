using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Redis;
using StackExchange.Redis;

namespace Milvus.Domain.Mq.Redis;

/// <summary>
/// The message queue on Redis Streams: one stream per channel, a registry of channel names beside them, and
/// Redis's own consumer groups as the persisted group positions. Every key lives under one hash tag made from
/// the root path (<c>{root/mq}...</c>), so a cluster keeps them in one slot, as the multi-key scripts need.
/// <list type="bullet">
/// <item>Msg ids are the entry ids, written explicitly by the produce script and mapped by <see cref="RedisMqIds"/>;
/// they increase across the whole queue, not only within a channel.</item>
/// <item>Produce, create, destroy, group changes and seek are Lua scripts, so each is atomic.</item>
/// <item>Consume is <c>XREADGROUP ... NOACK</c>: concurrent consumers of one group never get the same message.</item>
/// <item>Seek is <c>XGROUP SETID</c> to just before the target, after checking that the target exists.</item>
/// <item>A long poll waits for a pub/sub wake-up that each produce, seek and destroy publishes, and looks again at
/// least every <see cref="PollInterval"/>, so a wake-up lost while the subscription reconnects delays a consumer
/// by at most that long.</item>
/// </list>
/// A Redis that is down fails each call at once with <see cref="MqUnavailableException"/>. Thread-safe.
/// </summary>
public sealed partial class RedisMqClient : IMqClient, IAsyncDisposable
{
    /// <summary>How long a waiting consumer trusts its wake-up before it looks again.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private const string PayloadField = "p";
    private const string ConsumerName = "milvus";

    // The scripts' code for a call whose deadline passed before Redis ran it.
    private const int Late = -4;

    // The produce script's answer when the idempotency key was used for another batch.
    private const int KeyReused = -5;

    /// <summary>
    /// How many read entries the size rule walks in one pass when Redis cannot count a group's unread entries (after a
    /// seek, until the group reads again); a pass then trims at most this many by size.
    /// </summary>
    private const int RetentionWalkLimit = 1000;

    private readonly string? _configuration;
    private readonly bool _ownsConnection;
    // Guards the one connect of a client made from a configuration string.
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private volatile IConnectionMultiplexer? _connection;
    private volatile IDatabase? _database;
    // How long after its send a write or a read may still run on Redis: less than the call's timeout, so that a call
    // that times out (Redis frozen or slow) has changed nothing when its error is answered.
    private long _runWithinMs;
    private readonly RedisDurability _durability;
    private readonly int _replicas;
    // Under Durability=replicas:N, the connections that produce: WAIT blocks the connection it is sent on, so each
    // produce takes one of these to itself (the multiplexed connection serves everything else).
    private readonly System.Threading.Channels.Channel<IConnectionMultiplexer> _writers = System.Threading.Channels.Channel.CreateUnbounded<IConnectionMultiplexer>();
    private readonly List<IConnectionMultiplexer> _writerConnections = [];
    // Under Durability=always: when Redis was last seen fsyncing every write (a timestamp of _time), and what is wrong
    // when it was not. Checked at open and again once a minute, before a produce.
    private long _fsyncConfirmedAt;
    private volatile string? _durabilityProblem;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _keyPrefix;
    private readonly RedisKey _registry;
    private readonly RedisKey _lastId;
    private readonly RedisChannel _wakeChannel;
    private readonly RedisValue _wakeChannelName;
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _signals = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _subscribeGate = new(1, 1);
    private readonly MqMetrics _metrics = new("redis");
    private volatile bool _subscribed;

    /// <summary>
    /// A queue on an existing connection (made with <see cref="RedisKv.FailFast"/> options), with its keys under
    /// <paramref name="rootPath"/>. The connection is closed on dispose only when <paramref name="ownsConnection"/>.
    /// </summary>
    public RedisMqClient(IConnectionMultiplexer connection, string rootPath = "", TimeProvider? time = null, ILogger<RedisMqClient>? logger = null, bool ownsConnection = false)
        : this(rootPath, time, logger, ownsConnection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _database = connection.GetDatabase();
        _runWithinMs = RunWithin(connection.TimeoutMilliseconds);
    }

    /// <summary>
    /// A queue on the Redis of <paramref name="configuration"/> (a StackExchange.Redis configuration string), not
    /// connected yet: <see cref="OpenAsync"/> connects, and calls before it answer <see cref="MqUnavailableException"/>.
    /// </summary>
    /// <remarks>
    /// With <see cref="RedisDurability.Always"/>, the queue produces only while Redis runs <c>appendonly yes</c> with
    /// <c>appendfsync always</c> (checked at open and once a minute), so that an acknowledged msg survives a Redis crash.
    /// </remarks>
    public RedisMqClient(string configuration, string rootPath = "", TimeProvider? time = null, ILogger<RedisMqClient>? logger = null, RedisDurability durability = RedisDurability.EverySecond, int replicas = 0)
        : this(rootPath, time, logger, ownsConnection: true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        if (durability == RedisDurability.Replicas && replicas is < 1 or > 16)
        {
            throw new ArgumentOutOfRangeException(nameof(replicas), replicas, "Durability by replicas needs 1 to 16 of them.");
        }
        _configuration = configuration;
        _durability = durability;
        _replicas = replicas;
    }

    /// <summary>How many produces run at once under <see cref="RedisDurability.Replicas"/>: each waits on a connection of its own.</summary>
    public const int ReplicatedWriters = 4;

    /// <summary>How long a produce under <see cref="RedisDurability.Replicas"/> waits for its replicas.</summary>
    public static readonly TimeSpan ReplicaWait = TimeSpan.FromSeconds(1);

    /// <summary>Under <see cref="RedisDurability.Always"/>, why the queue does not produce now; otherwise null.</summary>
    public string? DurabilityProblem => _durabilityProblem;

    private RedisMqClient(string rootPath, TimeProvider? time, ILogger<RedisMqClient>? logger, bool ownsConnection)
    {
        _ownsConnection = ownsConnection;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _keyPrefix = $"{{{KvPaths.NormalizeRoot(rootPath)}mq}}";
        _registry = _keyPrefix + "channels";
        _lastId = _keyPrefix + "last-id";
        _wakeChannelName = _keyPrefix + "wake";
        _wakeChannel = RedisChannel.Literal(_keyPrefix + "wake");
    }

    /// <summary>
    /// Connects to the Redis that <paramref name="configuration"/> names and returns a queue that owns the
    /// connection. A Redis that is down does not fail the connect; each call then fails with
    /// <see cref="MqUnavailableException"/> until it returns.
    /// </summary>
    public static async Task<RedisMqClient> ConnectAsync(string configuration, string rootPath = "", TimeProvider? time = null, ILogger<RedisMqClient>? logger = null)
    {
        var client = new RedisMqClient(configuration, rootPath, time, logger);
        await client.OpenAsync(CancellationToken.None).ConfigureAwait(false);
        return client;
    }

    /// <summary>
    /// Connects, once (a client made on a connection is connected already). It does not wait for a Redis that is
    /// down: the connection heals by itself, and calls answer <see cref="MqUnavailableException"/> meanwhile.
    /// </summary>
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        if (_database is not null)
        {
            return;
        }
        await _connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_database is null)
            {
                var options = RedisKv.FailFast(_configuration!);
                var connection = await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(cancellationToken).ConfigureAwait(false);
                _runWithinMs = RunWithin(options.AsyncTimeout);
                if (_durability == RedisDurability.Replicas)
                {
                    for (var i = 0; i < ReplicatedWriters; i++)
                    {
                        var writer = await ConnectionMultiplexer.ConnectAsync(RedisKv.FailFast(_configuration!)).WaitAsync(cancellationToken).ConfigureAwait(false);
                        _writerConnections.Add(writer);
                        _writers.Writer.TryWrite(writer);
                    }
                }
                _connection = connection;
                _database = connection.GetDatabase();
            }
        }
        finally
        {
            _connecting.Release();
        }
        await EnsureDurableAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Under <see cref="RedisDurability.Always"/>, makes sure (once a minute) that Redis fsyncs its append-only file
    /// before it answers a write; otherwise nothing.
    /// </summary>
    /// <exception cref="MqUnavailableException">Redis does not, or does not answer; the message says which setting to change.</exception>
    private async Task EnsureDurableAsync(CancellationToken cancellationToken)
    {
        if (_durability != RedisDurability.Always
            || (Interlocked.Read(ref _fsyncConfirmedAt) is var at and not 0 && _time.GetElapsedTime(at) < TimeSpan.FromMinutes(1)))
        {
            return;
        }
        // CONFIG is an admin command, which the queue's own connection does not allow: a short admin connection asks.
        var options = RedisKv.FailFast(_configuration!);
        options.AllowAdmin = true;
        KeyValuePair<string, string>[] settings;
        try
        {
            await using var admin = await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(cancellationToken).ConfigureAwait(false);
            var server = admin.GetServers().FirstOrDefault(s => s.IsConnected)
                ?? throw new MqUnavailableException($"Redis at {options.EndPoints.FirstOrDefault()} does not answer, so Milvus:RedisMq:Durability=always cannot be checked; nothing is produced until it is.");
            settings = await server.ConfigGetAsync("append*").WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw new MqUnavailableException($"Redis could not be asked for its appendfsync setting ({e.Message}), which Milvus:RedisMq:Durability=always needs; nothing is produced until it answers.", e);
        }
        var appendOnly = settings.FirstOrDefault(p => p.Key == "appendonly").Value ?? "?";
        var fsync = settings.FirstOrDefault(p => p.Key == "appendfsync").Value ?? "?";
        if (appendOnly != "yes" || fsync != "always")
        {
            _durabilityProblem = $"Milvus:RedisMq:Durability is always, but Redis runs appendonly {appendOnly} with appendfsync {fsync}, so an acknowledged msg could be lost in a Redis crash. " +
                "Set appendonly yes and appendfsync always in Redis's configuration (or with CONFIG SET), or set the durability to everysec; nothing is produced until then.";
            Interlocked.Exchange(ref _fsyncConfirmedAt, 0);
            throw new MqUnavailableException(_durabilityProblem);
        }
        _durabilityProblem = null;
        Interlocked.Exchange(ref _fsyncConfirmedAt, _time.GetTimestamp());
    }

    /// <summary>
    /// A call's deadline on Redis's clock: the write or read runs only if Redis gets to it by then. A second of the
    /// call's timeout (half of a short one) is left for the answer to come back and for the clocks' difference.
    /// </summary>
    private static long RunWithin(int timeoutMs) => timeoutMs - Math.Min(1000, timeoutMs / 2);

    // The wall clock, not the injected one: the deadline is compared with Redis's own clock.
    private long Deadline() => TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() + Interlocked.Read(ref _runWithinMs);

    private IDatabase Db => _database ?? throw new MqUnavailableException("Redis is not connected yet: the gateway connects as it starts.");

    private IConnectionMultiplexer Connection => _connection ?? throw new MqUnavailableException("Redis is not connected yet: the gateway connects as it starts.");

    /// <summary>What every key of this queue starts with: the hash tag made from the root path.</summary>
    public string KeyPrefix => _keyPrefix;

    /// <summary>The Redis key of a channel's stream.</summary>
    public RedisKey StreamKey(string channel) => _keyPrefix + "stream/" + channel;

    /// <summary>The hash of a channel's idempotency key records.</summary>
    private RedisKey KeyRecordsKey(string channel) => _keyPrefix + "keys/" + channel;

    /// <summary>The sorted set of when a channel's idempotency keys expire (Unix ms on Redis's clock).</summary>
    private RedisKey KeyExpiriesKey(string channel) => _keyPrefix + "key-expiries/" + channel;

    /// <summary>Asks Redis to answer, for readiness checks; the round-trip time when it does.</summary>
    /// <exception cref="MqUnavailableException">Redis does not answer.</exception>
    public Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default) => Call(() => Db.PingAsync(), cancellationToken);

    public async Task CreateChannelAsync(string channel, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        var created = await RunAsync(RedisMqScripts.CreateChannel, [_registry, StreamKey(channel)], [channel], cancellationToken).ConfigureAwait(false);
        if ((int)created == 0)
        {
            throw new MqChannelExistsException(channel);
        }
        Log.ChannelCreated(_logger, channel);
    }

    public async Task DestroyChannelsAsync(IReadOnlyCollection<string> channels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channels);
        foreach (var name in channels)
        {
            MqNames.Validate(name, "channel");
        }
        var names = channels.Distinct(StringComparer.Ordinal).ToList();
        if (names.Count == 0)
        {
            return;
        }
        // The script deletes every key after the registry: each channel's stream and its idempotency keys.
        var keys = new RedisKey[(3 * names.Count) + 1];
        var args = new RedisValue[names.Count + 1];
        keys[0] = _registry;
        args[0] = _wakeChannelName;
        for (var i = 0; i < names.Count; i++)
        {
            keys[(3 * i) + 1] = StreamKey(names[i]);
            keys[(3 * i) + 2] = KeyRecordsKey(names[i]);
            keys[(3 * i) + 3] = KeyExpiriesKey(names[i]);
            args[i + 1] = names[i];
        }
        var unknown = (int)await RunAsync(RedisMqScripts.DestroyChannels, keys, args, cancellationToken).ConfigureAwait(false);
        if (unknown > 0)
        {
            throw new MqChannelNotFoundException(names[unknown - 1]);
        }
        foreach (var name in names)
        {
            Notify(name);
            Log.ChannelDestroyed(_logger, name);
        }
    }

    public async Task<bool> ChannelExistsAsync(string channel, CancellationToken cancellationToken = default) =>
        MqNames.IsValid(channel)
        && (await Call(() => Db.SortedSetScoreAsync(_registry, channel), cancellationToken).ConfigureAwait(false)).HasValue;

    public async Task<IReadOnlyList<string>> ListChannelsAsync(CancellationToken cancellationToken = default)
    {
        var names = await Call(() => Db.SortedSetRangeByRankAsync(_registry), cancellationToken).ConfigureAwait(false);
        return [.. names.Select(n => (string)n!)];
    }

    /// <summary>
    /// One retention pass over every channel with <paramref name="options"/>' rules (see <see cref="RedisMqOptions"/>);
    /// each channel is trimmed atomically against its groups' positions, so an entry that a group has not read, also
    /// one it has just sought back to, never goes. Returns how many entries went and each channel's length after it.
    /// </summary>
    /// <exception cref="MqUnavailableException">Redis does not answer.</exception>
    /// <param name="options">The rules.</param>
    /// <param name="keepFrom">
    /// Per channel, the first msg id that must stay whatever the groups have read: where a subscription or an archiver
    /// resumes after a restart, since a stream's groups have moved on by what it read ahead.
    /// </param>
    /// <param name="cancellationToken">Cancels the pass between channels.</param>
    public async Task<RedisRetentionResult> RunRetentionAsync(RedisMqOptions options, IReadOnlyDictionary<string, long>? keepFrom = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var time = options.RetentionTimeInMinutes < 0 ? -1 : options.RetentionTimeInMinutes * 60_000;
        var size = options.RetentionSizeInMB < 0 ? -1 : options.RetentionSizeInMB * 1024 * 1024;
        var lengths = new Dictionary<string, long>(StringComparer.Ordinal);
        long trimmed = 0;
        foreach (var channel in await ListChannelsAsync(cancellationToken).ConfigureAwait(false))
        {
            var floor = keepFrom is not null && keepFrom.TryGetValue(channel, out var id) ? RedisMqIds.ToEntryId(Math.Max(0, id)) : "";
            var result = await RunAsync(RedisMqScripts.Retention, [_registry, StreamKey(channel)], [channel, time, size, RetentionWalkLimit, floor], cancellationToken).ConfigureAwait(false);
            if (result.Resp2Type == ResultType.Integer)
            {
                continue; // Destroyed since the listing.
            }
            var pair = (RedisResult[])result!;
            trimmed += (long)pair[0];
            lengths[channel] = (long)pair[1];
        }
        return new RedisRetentionResult(trimmed, lengths);
    }

    public async Task CreateConsumerGroupAsync(string channel, string group, MqStartPosition position, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        var start = StartId(position);
        var code = (int)await RunAsync(RedisMqScripts.CreateGroup, [_registry, StreamKey(channel)], [channel, group, start], cancellationToken).ConfigureAwait(false);
        switch (code)
        {
            case -1:
                throw new MqChannelNotFoundException(channel);
            case -2:
                throw new MqGroupExistsException(channel, group);
        }
    }

    public async Task DestroyConsumerGroupAsync(string channel, string group, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        var code = (int)await RunAsync(RedisMqScripts.DestroyGroup, [_registry, StreamKey(channel)], [channel, group, _wakeChannelName], cancellationToken).ConfigureAwait(false);
        ThrowIfMissing(code, channel, group, 0);
        Notify(channel);
    }

    public async Task<bool> ConsumerGroupExistsAsync(string channel, string group, CancellationToken cancellationToken = default) =>
        MqNames.IsValid(channel) && MqNames.IsValid(group)
        && (int)await RunAsync(RedisMqScripts.GroupExists, [_registry, StreamKey(channel)], [channel, group], cancellationToken).ConfigureAwait(false) == 1;

    public async Task<IReadOnlyList<long>> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken = default) =>
        (await ProduceOnceAsync(channel, payloads, null, cancellationToken).ConfigureAwait(false)).Ids;

    /// <summary>
    /// Appends a batch at most once per key: the produce script looks the key up and stores its record with the
    /// batch, atomically. The records live in a hash per channel beside a sorted set of their expiries; each keyed
    /// produce drops a few expired ones, and destroying the channel drops them all.
    /// </summary>
    public Task<MqProduced> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, MqProduceKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return ProduceOnceAsync(channel, payloads, key, cancellationToken);
    }

    public async Task<ReadOnlyMemory<byte>?> FindProduceKeyAsync(string channel, string key, CancellationToken cancellationToken = default)
    {
        if (!MqNames.IsValid(channel) || !MqProduceKey.IsValid(key))
        {
            return null;
        }
        var found = await RunAsync(RedisMqScripts.FindKey, [KeyRecordsKey(channel), KeyExpiriesKey(channel)], [key], cancellationToken).ConfigureAwait(false);
        if (found.IsNull)
        {
            // Not in a conditional with the bytes: null would become an empty memory there, not a null one.
            return null;
        }
        return (byte[])found!;
    }

    /// <summary>Appends a batch, with its idempotency key when it has one.</summary>
    private async Task<MqProduced> ProduceOnceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, MqProduceKey? key, CancellationToken cancellationToken)
    {
        MqNames.Validate(channel, "channel");
        ArgumentNullException.ThrowIfNull(payloads);
        if (payloads.Count == 0)
        {
            throw new MqInvalidArgumentException("A batch needs at least one message.");
        }
        await EnsureDurableAsync(cancellationToken).ConfigureAwait(false);
        var fixedArgs = key is null ? 4 : 8;
        var args = new RedisValue[payloads.Count + fixedArgs];
        args[0] = channel;
        args[1] = _wakeChannelName;
        args[2] = RedisMqIds.MaxSeq;
        if (key is not null)
        {
            args[4] = key.Key;
            args[5] = key.Fingerprint;
            args[6] = (long)key.Lifetime.TotalMilliseconds;
            args[7] = key.Note;
        }
        var bytes = 0L;
        for (var i = 0; i < payloads.Count; i++)
        {
            args[i + fixedArgs] = payloads[i];
            bytes += payloads[i].Length;
        }
        args[3] = Deadline();
        var (script, keys) = key is null
            ? (RedisMqScripts.Produce, new RedisKey[] { _registry, _lastId, StreamKey(channel) })
            : (RedisMqScripts.ProduceKeyed, [_registry, _lastId, StreamKey(channel), KeyRecordsKey(channel), KeyExpiriesKey(channel)]);
        var result = _durability == RedisDurability.Replicas
            ? await ProduceReplicatedAsync(script, keys, args, cancellationToken).ConfigureAwait(false)
            : await RunAsync(script, keys, args, cancellationToken).ConfigureAwait(false);
        if (result.Resp2Type == ResultType.Integer)
        {
            throw (int)result switch
            {
                Late => NotRunInTime(),
                KeyReused => new MqIdempotencyKeyReusedException(channel, key!.Key),
                _ => new MqChannelNotFoundException(channel),
            };
        }
        var first = (RedisResult[])result!;
        // Ids of one batch are consecutive: seq + 1, or (ms + 1, 0) past the largest seq, is msg id + 1.
        var firstId = RedisMqIds.FromParts((long)first[0], (long)first[1]);
        var ids = new long[payloads.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = firstId + i;
        }
        if (first.Length > 2 && (long)first[2] == 1)
        {
            return new MqProduced(ids, Replayed: true, (byte[]?)first[3] ?? []);
        }
        _metrics.Produced(bytes);
        Notify(channel);
        return new MqProduced(ids, Replayed: false, key?.Note ?? default);
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
            // Take the signal before looking: a wake-up published after the look completes this very task.
            var signal = wait > TimeSpan.Zero ? Signal(channel) : Task.CompletedTask;
            var messages = await ReadAsync(channel, group, n, cancellationToken).ConfigureAwait(false);
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

    public async Task SeekAsync(string channel, string group, long msgId, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        if (msgId <= 0)
        {
            // No id is 0 or below; the channel and group are still checked first, as for any other id.
            await ThrowIfMissingAsync(channel, group, cancellationToken).ConfigureAwait(false);
            throw new MqMsgIdNotFoundException(channel, msgId);
        }
        var code = (int)await RunAsync(
            RedisMqScripts.Seek,
            [_registry, StreamKey(channel)],
            [channel, group, RedisMqIds.ToEntryId(msgId), RedisMqIds.ToEntryId(msgId - 1), _wakeChannelName],
            cancellationToken).ConfigureAwait(false);
        ThrowIfMissing(code, channel, group, msgId);
        Notify(channel);
    }

    public async Task SeekToAsync(string channel, string group, MqStartPosition position, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        var code = (int)await RunAsync(
            RedisMqScripts.Seek,
            [_registry, StreamKey(channel)],
            [channel, group, "", StartId(position), _wakeChannelName],
            cancellationToken).ConfigureAwait(false);
        ThrowIfMissing(code, channel, group, 0);
        Notify(channel);
    }

    public async Task<long?> GetLatestMsgIdAsync(string channel, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        var result = await RunAsync(RedisMqScripts.LatestId, [_registry, StreamKey(channel)], [channel], cancellationToken).ConfigureAwait(false);
        if (result.IsNull)
        {
            return null;
        }
        return result.Resp2Type == ResultType.Integer ? throw new MqChannelNotFoundException(channel) : RedisMqIds.FromEntryId((string)result!);
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsConnection)
        {
            if (_connection is { } connection)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        else if (_subscribed)
        {
            await Connection.GetSubscriber().UnsubscribeAsync(_wakeChannel, OnWake).ConfigureAwait(false);
        }
        foreach (var writer in _writerConnections)
        {
            await writer.DisposeAsync().ConfigureAwait(false);
        }
        _subscribeGate.Dispose();
        _connecting.Dispose();
    }

    private async Task<IReadOnlyList<MqMessage>> ReadAsync(string channel, string group, int n, CancellationToken cancellationToken)
    {
        // A read once sent is awaited whatever the caller's token says: the script moves the group, so abandoning its
        // answer would drop the msgs it took. The deadline bounds how long that can be.
        cancellationToken.ThrowIfCancellationRequested();
        var result = await RunAsync(RedisMqScripts.Read, [StreamKey(channel)], [group, ConsumerName, n, Deadline()], CancellationToken.None).ConfigureAwait(false);
        if (result.IsNull)
        {
            return [];
        }
        if (result.Resp2Type == ResultType.Integer)
        {
            if ((int)result == Late)
            {
                throw NotRunInTime();
            }
            await ThrowIfMissingAsync(channel, group, cancellationToken).ConfigureAwait(false);
            throw new MqUnavailableException($"Redis found no group '{group}' on channel '{channel}' while the registry has both; try again.");
        }
        // One stream: { key, { { id, { field, value, … } }, … } }.
        var entries = (RedisResult[])((RedisResult[])((RedisResult[])result!)[0]!)[1]!;
        var messages = new MqMessage[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = (RedisResult[])entries[i]!;
            var fields = entry[1].IsNull ? [] : (RedisResult[])entry[1]!;
            var payload = fields.Length > 1 && (string?)fields[0] == PayloadField ? (byte[]?)fields[1] ?? [] : [];
            messages[i] = new MqMessage(RedisMqIds.FromEntryId((string)entry[0]!), payload);
        }
        return messages;
    }

    /// <summary>
    /// The produce script on a connection of its own, then <c>WAIT</c> for the replicas on that same connection (it
    /// waits for that connection's writes). Fewer replicas than asked within <see cref="ReplicaWait"/> is an error
    /// that says the batch is on the primary, so the outcome is unknown.
    /// </summary>
    private async Task<RedisResult> ProduceReplicatedAsync(RedisMqScript script, RedisKey[] keys, RedisValue[] args, CancellationToken cancellationToken)
    {
        var writer = await _writers.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var db = writer.GetDatabase();
            var result = await Call(() => script.EvaluateAsync(db, keys, args), cancellationToken).ConfigureAwait(false);
            if (result.Resp2Type == ResultType.Integer)
            {
                return result;
            }
            var confirmed = (long)await Call(() => db.ExecuteAsync("WAIT", _replicas, (long)ReplicaWait.TotalMilliseconds), CancellationToken.None).ConfigureAwait(false);
            return confirmed >= _replicas
                ? result
                : throw new MqUnavailableException(
                    $"Only {confirmed} of the {_replicas} Redis replicas that Milvus:RedisMq:Durability asks for confirmed the batch within {ReplicaWait.TotalSeconds:0.#} s. " +
                    "It is on the primary, so the outcome is unknown: a retry stores it again unless it carries the same idempotency key.");
        }
        finally
        {
            _writers.Writer.TryWrite(writer);
        }
    }

    /// <summary>A write or read that Redis got to after its deadline, and so did not run.</summary>
    private static MqUnavailableException NotRunInTime() =>
        new("Redis did not get to the call in time; it changed nothing, so it can be tried again.");

    /// <summary>Throws the not-found error for a missing channel or group.</summary>
    private async Task ThrowIfMissingAsync(string channel, string group, CancellationToken cancellationToken)
    {
        if (!await ChannelExistsAsync(channel, cancellationToken).ConfigureAwait(false))
        {
            throw new MqChannelNotFoundException(channel);
        }
        if (!await ConsumerGroupExistsAsync(channel, group, cancellationToken).ConfigureAwait(false))
        {
            throw new MqGroupNotFoundException(channel, group);
        }
    }

    private static void ThrowIfMissing(int code, string channel, string group, long msgId)
    {
        switch (code)
        {
            case -1:
                throw new MqChannelNotFoundException(channel);
            case -2:
                throw new MqGroupNotFoundException(channel, group);
            case -3:
                throw new MqMsgIdNotFoundException(channel, msgId);
        }
    }

    private static RedisValue StartId(MqStartPosition position) => position switch
    {
        MqStartPosition.Earliest => "0",
        MqStartPosition.Latest => "$",
        _ => throw new MqInvalidArgumentException($"Position {position} is neither earliest nor latest."),
    };

    private Task Signal(string channel) =>
        _signals.GetOrAdd(channel, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    private void Notify(string channel)
    {
        if (_signals.TryRemove(channel, out var signal))
        {
            signal.TrySetResult();
        }
    }

    private void OnWake(RedisChannel _, RedisValue channel) => Notify((string)channel!);

    /// <summary>Subscribes to the wake-ups once; a failure is an unavailable error, and the next wait tries again.</summary>
    private async Task EnsureSubscribedAsync(CancellationToken cancellationToken)
    {
        if (_subscribed)
        {
            return;
        }
        await _subscribeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_subscribed)
            {
                await Call(async () =>
                {
                    await Connection.GetSubscriber().SubscribeAsync(_wakeChannel, OnWake).ConfigureAwait(false);
                    return true;
                }, cancellationToken).ConfigureAwait(false);
                _subscribed = true;
            }
        }
        finally
        {
            _subscribeGate.Release();
        }
    }

    private Task<RedisResult> RunAsync(RedisMqScript script, RedisKey[] keys, RedisValue[] args, CancellationToken cancellationToken) =>
        Call(() => script.EvaluateAsync(Db, keys, args), cancellationToken);

    private static async Task<T> Call<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await call().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RedisConnectionException e)
        {
            throw new MqUnavailableException($"Redis is unavailable: {e.Message}", e);
        }
        catch (RedisTimeoutException e)
        {
            throw new MqUnavailableException($"Redis did not answer in time: {e.Message}", e);
        }
        catch (RedisServerException e)
        {
            throw new MqUnavailableException($"Redis failed: {e.Message}", e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5301, Level = LogLevel.Information, Message = "Redis MQ channel {Channel} created.")]
        public static partial void ChannelCreated(ILogger logger, string channel);

        [LoggerMessage(EventId = 5302, Level = LogLevel.Information, Message = "Redis MQ channel {Channel} destroyed with its messages and groups.")]
        public static partial void ChannelDestroyed(ILogger logger, string channel);
    }
}

/// <summary>What a Redis retention pass did: how many entries it removed, and each channel's length after it.</summary>
public sealed record RedisRetentionResult(long Trimmed, IReadOnlyDictionary<string, long> Lengths);
