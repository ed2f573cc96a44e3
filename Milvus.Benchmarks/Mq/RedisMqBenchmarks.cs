using BenchmarkDotNet.Attributes;
using Milvus.Domain.Kv.Redis;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Redis;
using StackExchange.Redis;

namespace Milvus.Benchmarks.Mq;

/// <summary>
/// A Redis Streams queue and a raw stream key beside it on the Redis that MILVUS_TEST_REDIS names
/// (<c>source scripts/servers.sh &amp;&amp; servers_install &amp;&amp; servers_start</c> exports it), under a fresh root.
/// </summary>
internal sealed class RedisMqBench : IDisposable
{
    private readonly string _root = $"bench-{Guid.NewGuid():N}";

    public RedisMqBench()
    {
        var configuration = Environment.GetEnvironmentVariable("MILVUS_TEST_REDIS") is { Length: > 0 } c
            ? c
            : throw new InvalidOperationException("MILVUS_TEST_REDIS is not set: start a server with scripts/servers.sh first.");
        Connection = ConnectionMultiplexer.Connect(RedisKv.FailFast(configuration));
        Db = Connection.GetDatabase();
        Mq = new RedisMqClient(Connection, _root);
        RawKey = $"raw-{_root}";
    }

    public ConnectionMultiplexer Connection { get; }

    public IDatabase Db { get; }

    public RedisMqClient Mq { get; }

    public RedisKey RawKey { get; }

    /// <summary>XADD of each payload, pipelined in one StackExchange.Redis batch: one round trip, no script.</summary>
    public async Task RawAddAsync(ReadOnlyMemory<byte>[] payloads)
    {
        var batch = Db.CreateBatch();
        var adds = new Task<RedisValue>[payloads.Length];
        for (var i = 0; i < payloads.Length; i++)
        {
            adds[i] = batch.StreamAddAsync(RawKey, "p", payloads[i]);
        }
        batch.Execute();
        await Task.WhenAll(adds);
    }

    /// <summary>
    /// Walks a stream from its first entry with <c>XRANGE</c> in batches of <paramref name="batch"/>, copying each
    /// entry's first field value as a consumer would. Returns how many entries it read.
    /// </summary>
    public async Task<int> RawRangeAsync(RedisKey key, int batch)
    {
        var count = 0;
        RedisValue from = "-";
        while (true)
        {
            var entries = await Db.StreamRangeAsync(key, from, "+", batch);
            if (entries.Length == 0)
            {
                return count;
            }
            foreach (var entry in entries)
            {
                count += ((byte[])entry.Values[0].Value!).Length > 0 ? 1 : 0;
            }
            from = "(" + entries[^1].Id;
        }
    }

    /// <summary>
    /// Moves an existing consumer group to the start of a stream with <c>XGROUP SETID</c>, then reads the stream to
    /// its end with <c>XREADGROUP ... NOACK</c> in batches of <paramref name="batch"/>, copying each entry's first
    /// field value. Returns how many entries it read.
    /// </summary>
    public async Task<int> RawReadGroupAsync(RedisKey key, string group, int batch)
    {
        await Db.StreamConsumerGroupSetPositionAsync(key, group, "0-0");
        var count = 0;
        while (true)
        {
            var entries = await Db.StreamReadGroupAsync(key, group, "raw", StreamPosition.NewMessages, batch, noAck: true);
            if (entries.Length == 0)
            {
                return count;
            }
            foreach (var entry in entries)
            {
                count += ((byte[])entry.Values[0].Value!).Length > 0 ? 1 : 0;
            }
        }
    }

    /// <summary>Empties both sides: the raw key, and the channel (destroyed and made again, with its group at the start).</summary>
    public void Reset(string channel)
    {
        Db.KeyDelete(RawKey);
        if (Mq.ChannelExistsAsync(channel).GetAwaiter().GetResult())
        {
            Mq.DestroyChannelAsync(channel).GetAwaiter().GetResult();
        }
        Mq.CreateChannelAsync(channel).GetAwaiter().GetResult();
        Mq.CreateConsumerGroupAsync(channel, "bench", MqStartPosition.Earliest).GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        foreach (var channel in Mq.ListChannelsAsync().GetAwaiter().GetResult())
        {
            Mq.DestroyChannelAsync(channel).GetAwaiter().GetResult();
        }
        Db.KeyDelete([RawKey, Mq.KeyPrefix + "channels", Mq.KeyPrefix + "last-id"]);
        Connection.Dispose();
    }
}

/// <summary>
/// Produce batches of 1 KiB messages through RedisMqClient (one Lua script per batch), next to raw pipelined XADDs
/// of the same payloads. Both streams are emptied after every iteration, so Redis's memory stays bounded.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 12, invocationCount: 256)]
public class RedisMqProduceBenchmarks
{
    private RedisMqBench _bench = null!;
    private ReadOnlyMemory<byte>[] _payloads = null!;

    [Params(1, 100)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _bench = new RedisMqBench();
        _bench.Reset("produce");
        _payloads = RocksMqBench.Payloads(BatchSize, 1024);
    }

    [IterationCleanup]
    public void Empty() => _bench.Reset("produce");

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    [Benchmark(Baseline = true, Description = "raw pipelined XADD")]
    public Task RawXAdd() => _bench.RawAddAsync(_payloads);

    [Benchmark(Description = "Redis MQ produce")]
    public Task<IReadOnlyList<long>> Produce() => _bench.Mq.ProduceAsync("produce", _payloads);
}

/// <summary>
/// Consume 20,000 1 KiB messages in batches of 1000 through a consumer group (XREADGROUP), next to a raw XRANGE walk
/// over the same messages in a plain stream.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 12)]
public class RedisMqConsumeBenchmarks
{
    private const int Messages = 20_000;
    private const int Batch = 1000;

    private RedisMqBench _bench = null!;

    [GlobalSetup]
    public void Setup()
    {
        _bench = new RedisMqBench();
        _bench.Reset("consume");
        foreach (var chunk in RocksMqBench.Payloads(Messages, 1024).Chunk(Batch))
        {
            _bench.Mq.ProduceAsync("consume", chunk).GetAwaiter().GetResult();
            _bench.RawAddAsync(chunk).GetAwaiter().GetResult();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    [Benchmark(Baseline = true, Description = "raw XRANGE walk")]
    public Task<int> RawRange() => _bench.RawRangeAsync(_bench.RawKey, Batch);

    [Benchmark(Description = "Redis MQ consume n=1000")]
    public async Task<int> Consume()
    {
        await _bench.Mq.SeekToAsync("consume", "bench", MqStartPosition.Earliest);
        var count = 0;
        for (var batch = await _bench.Mq.ConsumeAsync("consume", "bench", Batch); batch.Count > 0; batch = await _bench.Mq.ConsumeAsync("consume", "bench", Batch))
        {
            count += batch.Count;
        }
        return count;
    }
}
