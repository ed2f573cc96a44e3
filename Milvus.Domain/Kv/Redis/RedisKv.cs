using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Milvus.Domain.Kv.Redis;

/// <summary>
/// A <see cref="ITxnKv"/> on Redis. The pairs under one root path live in one hash (<c>{root}values</c>) with a
/// sorted set beside it (<c>{root}index</c>, every member at score 0) that lists the keys in bytewise order, so a
/// prefix load is a <c>ZRANGEBYLEX</c>. Every operation that touches more than one key, and every write (which
/// touches the hash and the index), is one Lua script, which Redis runs atomically; a write script that adds or
/// removes a key also bumps a counter of the key set (<c>{root}version</c>). A prefix load reads optimistically,
/// with the two plain commands a raw client would send, and keeps the result only when the counter did not move
/// between them (see <see cref="LoadWithPrefixAsync"/>). A Redis that is down fails each call at once with
/// <see cref="KvUnavailableException"/> instead of queueing it. Thread-safe.
/// </summary>
public sealed class RedisKv : TxnKvBase
{
    private const string BackendName = "redis";

    // KEYS[1] the values hash, KEYS[2] the index, KEYS[3] the key-set counter. ARGV: the number of prefixes, then a
    // lex range (min, max) per prefix; the number of single removals, then the keys; then the saved pairs as key,
    // value, key, value...
    private const string WriteScript = """
        local values, index = KEYS[1], KEYS[2]
        local changed = false
        local i = 1
        local prefixes = tonumber(ARGV[i]); i = i + 1
        for _ = 1, prefixes do
          local min, max = ARGV[i], ARGV[i + 1]; i = i + 2
          local keys = redis.call('ZRANGEBYLEX', index, min, max)
          for c = 1, #keys, 1000 do
            redis.call('HDEL', values, unpack(keys, c, math.min(c + 999, #keys)))
          end
          if #keys > 0 then
            redis.call('ZREMRANGEBYLEX', index, min, max)
            changed = true
          end
        end
        local removals = tonumber(ARGV[i]); i = i + 1
        for _ = 1, removals do
          if redis.call('HDEL', values, ARGV[i]) == 1 then changed = true end
          redis.call('ZREM', index, ARGV[i])
          i = i + 1
        end
        while i <= #ARGV do
          if redis.call('HSET', values, ARGV[i], ARGV[i + 1]) == 1 then
            redis.call('ZADD', index, 0, ARGV[i])
            changed = true
          end
          i = i + 2
        end
        if changed then redis.call('INCR', KEYS[3]) end
        return 0
        """;

    // The write script for one saved pair, the hot path: KEYS as above, ARGV[1] the key, ARGV[2] the value.
    private const string SaveScript = """
        if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
          redis.call('ZADD', KEYS[2], 0, ARGV[1])
          redis.call('INCR', KEYS[3])
        end
        return 0
        """;

    // KEYS[1] the values hash, KEYS[2] the index; ARGV[1], ARGV[2] a lex range. Returns { keys, values }.
    private const string LoadRangeScript = """
        local keys = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2])
        if #keys == 0 then return { keys, {} } end
        if #keys <= 1000 then return { keys, redis.call('HMGET', KEYS[1], unpack(keys)) } end
        local values = {}
        for c = 1, #keys, 1000 do
          local chunk = redis.call('HMGET', KEYS[1], unpack(keys, c, math.min(c + 999, #keys)))
          for j = 1, #chunk do values[#values + 1] = chunk[j] end
        end
        return { keys, values }
        """;

    private static readonly byte[] WriteScriptSha = SHA1.HashData(Encoding.UTF8.GetBytes(WriteScript));
    private static readonly byte[] SaveScriptSha = SHA1.HashData(Encoding.UTF8.GetBytes(SaveScript));
    private static readonly byte[] LoadRangeScriptSha = SHA1.HashData(Encoding.UTF8.GetBytes(LoadRangeScript));

    /// <summary>How many optimistic reads a prefix load tries before it falls back to the atomic script.</summary>
    private const int OptimisticReads = 2;

    private readonly IConnectionMultiplexer _connection;
    private readonly bool _ownsConnection;
    private readonly IDatabase _db;
    private readonly RedisKey[] _keys;

    /// <summary>
    /// A store on an existing connection, with its keys under <paramref name="rootPath"/>. The connection should
    /// be made with <see cref="FailFast"/> options; it is closed on dispose only when <paramref name="ownsConnection"/>.
    /// </summary>
    public RedisKv(IConnectionMultiplexer connection, string rootPath = "", bool ownsConnection = false)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _ownsConnection = ownsConnection;
        _db = connection.GetDatabase();
        var root = KvPaths.NormalizeRoot(rootPath);
        // One hash tag for both keys, so that a cluster keeps them in one slot, as a script needs.
        _keys = [$"{{{root}}}values", $"{{{root}}}index", $"{{{root}}}version"];
    }

    /// <summary>
    /// Connects to the Redis that <paramref name="configuration"/> (a StackExchange.Redis configuration string)
    /// names and returns a store that owns the connection. A Redis that is down does not fail the connect: each
    /// call then fails fast with <see cref="KvUnavailableException"/>, and the connection heals when Redis returns.
    /// </summary>
    public static async Task<RedisKv> ConnectAsync(string configuration, string rootPath = "")
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(FailFast(configuration)).ConfigureAwait(false);
        return new RedisKv(connection, rootPath, ownsConnection: true);
    }

    /// <summary>
    /// Options that make calls fail fast while Redis is down: short connect and call timeouts, no abort on a
    /// failed first connect, and no queueing of commands while disconnected.
    /// </summary>
    public static ConfigurationOptions FailFast(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ConnectTimeout = Math.Min(options.ConnectTimeout, 2000);
        options.ConnectRetry = 1;
        options.SyncTimeout = Math.Min(options.SyncTimeout, 5000);
        options.AsyncTimeout = Math.Min(options.AsyncTimeout, 5000);
        return options;
    }

    /// <summary>Asks Redis to answer, for readiness checks; the round-trip time when it does.</summary>
    /// <exception cref="KvUnavailableException">Redis does not answer.</exception>
    public Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default) => Call(() => _db.PingAsync(), cancellationToken);

    public override async Task<string> LoadAsync(string key, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        cancellationToken.ThrowIfCancellationRequested();
        RedisValue value;
        // The hot paths await the client's task here, without Call's delegate and extra async layer.
        try
        {
            value = await _db.HashGetAsync(_keys[0], key).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
        return value.IsNull ? throw new KvKeyNotFoundException(key) : (string)value!;
    }

    public override async Task<IReadOnlyList<string>> MultiLoadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        KvGuard.Keys(keys);
        if (keys.Count == 0)
        {
            return [];
        }
        var fields = keys.Select(k => (RedisValue)k).ToArray();
        var found = await Call(() => _db.HashGetAsync(_keys[0], fields), cancellationToken).ConfigureAwait(false);
        var missing = keys.Where((_, i) => found[i].IsNull).ToList();
        return missing.Count > 0 ? throw new KvKeyNotFoundException(missing) : found.Select(v => (string)v!).ToList();
    }

    /// <summary>
    /// Reads the keys under <paramref name="prefix"/> and their values as of one moment. The read is optimistic: one
    /// round trip sends <c>GET version</c> and <c>ZRANGEBYLEX</c>, a second sends <c>HMGET</c> and <c>GET
    /// version</c>. Redis runs a connection's commands in order, and every write that adds or removes a key bumps
    /// the counter in the same script. So an unchanged counter proves that the key set did not change between the
    /// two reads, and one <c>HMGET</c> read every value at one moment: the pairs are the store as of that moment,
    /// even if some values were overwritten in between. When the key set did change, the read is tried again, and
    /// after <see cref="OptimisticReads"/> tries it runs the Lua script that reads both at once. The script costs
    /// Redis a copy of every value into Lua and back, which halved the throughput of 100-key loads of 1 KiB values.
    /// </summary>
    public override async Task<KvPairs> LoadWithPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            for (var attempt = 0; attempt < OptimisticReads; attempt++)
            {
                if (await TryLoadRangeAsync(prefix).WaitAsync(cancellationToken).ConfigureAwait(false) is { } pairs)
                {
                    return pairs;
                }
            }
            var (min, max) = LexRange(prefix);
            var result = await EvaluateAsync(LoadRangeScript, LoadRangeScriptSha, [min, max]).WaitAsync(cancellationToken).ConfigureAwait(false);
            var parts = (RedisResult[])result!;
            return Pairs((RedisValue[])parts[0]!, (RedisValue[])parts[1]!);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    /// <summary>One optimistic prefix read; null when a write ran between its two round trips.</summary>
    private async Task<KvPairs?> TryLoadRangeAsync(string prefix)
    {
        var first = _db.CreateBatch();
        var before = first.StringGetAsync(_keys[2]);
        var range = prefix.Length == 0
            ? first.SortedSetRangeByValueAsync(_keys[1])
            : first.SortedSetRangeByValueAsync(_keys[1], prefix, PrefixEnd(prefix), Exclude.Stop);
        first.Execute();
        var keys = await range.ConfigureAwait(false);
        var version = await before.ConfigureAwait(false);
        if (keys.Length == 0)
        {
            return new KvPairs([], []);
        }
        var second = _db.CreateBatch();
        var read = second.HashGetAsync(_keys[0], keys);
        var after = second.StringGetAsync(_keys[2]);
        second.Execute();
        var values = await read.ConfigureAwait(false);
        return await after.ConfigureAwait(false) == version ? Pairs(keys, values) : null;
    }

    private static KvPairs Pairs(RedisValue[] keys, RedisValue[] values) =>
        new(Array.ConvertAll(keys, k => (string)k!), Array.ConvertAll(values, v => (string)v!));

    public override Task SaveAsync(string key, string value, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        ArgumentNullException.ThrowIfNull(value);
        return WriteAsync(SaveScript, SaveScriptSha, [key, value], cancellationToken);
    }

    public override Task MultiSaveAndRemoveAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removals, CancellationToken cancellationToken = default)
    {
        KvGuard.Disjoint(saves, removals);
        var args = new List<RedisValue>(2 + removals.Count + (2 * saves.Count)) { 0, removals.Count };
        args.AddRange(removals.Select(k => (RedisValue)k));
        AddSaves(args, saves);
        return WriteAsync(WriteScript, WriteScriptSha, [.. args], cancellationToken);
    }

    public override Task MultiSaveAndRemoveWithPrefixAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removalPrefixes, CancellationToken cancellationToken = default)
    {
        KvGuard.DisjointPrefixes(saves, removalPrefixes);
        var args = new List<RedisValue>(2 + (2 * removalPrefixes.Count) + (2 * saves.Count)) { removalPrefixes.Count };
        foreach (var prefix in removalPrefixes)
        {
            ArgumentNullException.ThrowIfNull(prefix, nameof(removalPrefixes));
            var (min, max) = LexRange(prefix);
            args.Add(min);
            args.Add(max);
        }
        args.Add(0);
        AddSaves(args, saves);
        return WriteAsync(WriteScript, WriteScriptSha, [.. args], cancellationToken);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_ownsConnection)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void AddSaves(List<RedisValue> args, IReadOnlyDictionary<string, string> saves)
    {
        foreach (var (key, value) in saves)
        {
            ArgumentNullException.ThrowIfNull(value, nameof(saves));
            args.Add(key);
            args.Add(value);
        }
    }

    /// <summary>
    /// The lex range of the keys that start with <paramref name="prefix"/>: from the prefix itself up to (not
    /// including) the prefix followed by byte 0xFF, which no UTF-8 key contains.
    /// </summary>
    private static (RedisValue Min, RedisValue Max) LexRange(string prefix)
    {
        if (prefix.Length == 0)
        {
            return ("-", "+");
        }
        var end = PrefixEnd(prefix);
        byte[] min = [(byte)'[', .. end.AsSpan(0, end.Length - 1)];
        byte[] max = [(byte)'(', .. end];
        return (min, max);
    }

    /// <summary>The prefix followed by byte 0xFF: the exclusive upper bound of <see cref="LexRange"/>, unformatted.</summary>
    private static byte[] PrefixEnd(string prefix)
    {
        var end = new byte[Encoding.UTF8.GetByteCount(prefix) + 1];
        Encoding.UTF8.GetBytes(prefix, end);
        end[^1] = 0xFF;
        return end;
    }

    private async Task WriteAsync(string script, byte[] sha, RedisValue[] args, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await EvaluateAsync(script, sha, args).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    /// <summary>
    /// Runs a script by its SHA1 (EVALSHA), so the script's text is not sent and hashed on every call; when the
    /// server does not know it yet (or lost its script cache), runs it with EVAL, which also caches it.
    /// </summary>
    private async Task<RedisResult> EvaluateAsync(string script, byte[] sha, RedisValue[] args)
    {
        try
        {
            return await _db.ScriptEvaluateAsync(sha, _keys, args).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await _db.ScriptEvaluateAsync(script, _keys, args).ConfigureAwait(false);
        }
    }

    private static async Task<T> Call<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await call().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    /// <summary>The client errors that mean Redis cannot serve the call: no connection, a timeout, a server error.</summary>
    private static bool IsUnavailable(Exception error) =>
        error is RedisConnectionException or RedisTimeoutException or RedisServerException;

    private static KvUnavailableException Unavailable(Exception error) => new(BackendName, error.Message, error);
}
