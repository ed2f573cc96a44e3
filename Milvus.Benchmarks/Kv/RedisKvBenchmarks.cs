using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Redis;
using StackExchange.Redis;

namespace Milvus.Benchmarks.Kv;

/// <summary>
/// RedisKv next to raw StackExchange.Redis against the same server in the same run, 64 requests in flight:
/// Save (raw SET, and raw HSET + ZADD in a MULTI transaction, which keeps what RedisKv keeps), Load (raw GET, and
/// raw HGET, the read RedisKv makes) and a 100-key LoadWithPrefix (raw ZRANGEBYLEX then HMGET over the same layout,
/// two round trips where RedisKv's script takes one), with 1 KiB values; the raw side also converts keys and values
/// to strings, as RedisKv does. Needs MILVUS_TEST_REDIS, which
/// <c>source scripts/servers.sh &amp;&amp; servers_install &amp;&amp; servers_start</c> exports.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class RedisKvBenchmarks
{
    private const int InFlight = 64;
    private const int Keys = 1000;
    private const int PrefixKeys = 100;
    private static readonly string Value = new('v', 1024);

    private readonly string _root = $"bench-{Guid.NewGuid():N}";
    private ConnectionMultiplexer _connection = null!;
    private IDatabase _db = null!;
    private RedisKv _kv = null!;
    private RedisKey _rawValues;
    private RedisKey _rawIndex;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var configuration = Environment.GetEnvironmentVariable("MILVUS_TEST_REDIS") is { Length: > 0 } c
            ? c
            : throw new InvalidOperationException("MILVUS_TEST_REDIS is not set: start a server with scripts/servers.sh first.");
        _connection = ConnectionMultiplexer.Connect(RedisKv.FailFast(configuration));
        _db = _connection.GetDatabase();
        _kv = new RedisKv(_connection, _root);
        _rawValues = $"raw-{_root}:values";
        _rawIndex = $"raw-{_root}:index";
        for (var i = 0; i < Keys; i++)
        {
            _kv.SaveAsync(KeyOf(i), Value).GetAwaiter().GetResult();
            _db.StringSet($"raw-{_root}/{KeyOf(i)}", Value);
            _db.HashSet(_rawValues, KeyOf(i), Value);
            _db.SortedSetAdd(_rawIndex, KeyOf(i), 0);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _kv.RemoveWithPrefixAsync("").GetAwaiter().GetResult();
        _db.KeyDelete([_rawValues, _rawIndex, .. Enumerable.Range(0, Keys).Select(i => (RedisKey)$"raw-{_root}/{KeyOf(i)}")]);
        _connection.Dispose();
    }

    [BenchmarkCategory("Save"), Benchmark(Baseline = true, OperationsPerInvoke = InFlight)]
    public Task RawSave() => Many(() => _db.StringSetAsync($"raw-{_root}/{KeyOf(Next())}", Value));

    /// <summary>What a raw client must do for what RedisKv keeps (a value and its place in the key order), atomically.</summary>
    [BenchmarkCategory("Save"), Benchmark(OperationsPerInvoke = InFlight)]
    public Task RawSaveIndexed() => Many(async () =>
    {
        var key = KeyOf(Next());
        var transaction = _db.CreateTransaction();
        var set = transaction.HashSetAsync(_rawValues, key, Value);
        var add = transaction.SortedSetAddAsync(_rawIndex, key, 0);
        var committed = await transaction.ExecuteAsync();
        await set;
        await add;
        return committed;
    });

    [BenchmarkCategory("Save"), Benchmark(OperationsPerInvoke = InFlight)]
    public Task KvSave() => Many(() => _kv.SaveAsync(KeyOf(Next()), Value));

    [BenchmarkCategory("Load"), Benchmark(Baseline = true, OperationsPerInvoke = InFlight)]
    public Task RawLoad() => Many(async () => (string)(await _db.StringGetAsync($"raw-{_root}/{KeyOf(Next())}"))!);

    /// <summary>The same read RedisKv makes: one field of the values hash.</summary>
    [BenchmarkCategory("Load"), Benchmark(OperationsPerInvoke = InFlight)]
    public Task RawLoadHash() => Many(async () => (string)(await _db.HashGetAsync(_rawValues, KeyOf(Next())))!);

    [BenchmarkCategory("Load"), Benchmark(OperationsPerInvoke = InFlight)]
    public Task KvLoad() => Many(() => _kv.LoadAsync(KeyOf(Next())));

    [BenchmarkCategory("LoadWithPrefix"), Benchmark(Baseline = true, OperationsPerInvoke = InFlight)]
    public Task RawLoadWithPrefix() => Many(async () =>
    {
        var prefix = PrefixOf(Next());
        var keys = await _db.SortedSetRangeByValueAsync(_rawIndex, prefix, prefix + "\uffff");
        var values = await _db.HashGetAsync(_rawValues, keys);
        return new KvPairs(keys.Select(k => (string)k!).ToList(), values.Select(v => (string)v!).ToList());
    });

    [BenchmarkCategory("LoadWithPrefix"), Benchmark(OperationsPerInvoke = InFlight)]
    public Task KvLoadWithPrefix() => Many(async () => (await _kv.LoadWithPrefixAsync(PrefixOf(Next()))).Count);

    private static Task Many<T>(Func<Task<T>> operation) => Task.WhenAll(Enumerable.Range(0, InFlight).Select(_ => operation()));

    private static Task Many(Func<Task> operation) => Task.WhenAll(Enumerable.Range(0, InFlight).Select(_ => operation()));

    private int Next() => Interlocked.Increment(ref _next) % Keys;

    private static string KeyOf(int i) => $"p{i / PrefixKeys}/k{i:D4}";

    private static string PrefixOf(int i) => $"p{i % (Keys / PrefixKeys)}/";
}
