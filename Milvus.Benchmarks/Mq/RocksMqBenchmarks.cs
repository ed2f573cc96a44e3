using BenchmarkDotNet.Attributes;

namespace Milvus.Benchmarks.Mq;

/// <summary>Produce batches of 1 KiB messages, next to raw RocksDB WriteBatch puts of the same data.</summary>
[MemoryDiagnoser]
public class RocksMqProduceBenchmarks
{
    private RocksMqBench _bench = null!;
    private ReadOnlyMemory<byte>[] _payloads = null!;

    [Params(1, 100, 1000)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _bench = new RocksMqBench();
        _bench.CreateChannelAsync("produce").GetAwaiter().GetResult();
        _payloads = RocksMqBench.Payloads(BatchSize, 1024);
    }

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    [Benchmark(Baseline = true, Description = "raw WriteBatch")]
    public void RawWriteBatch() => _bench.RawPut(_payloads);

    [Benchmark(Description = "RocksMQ produce")]
    public Task<IReadOnlyList<long>> Produce() => _bench.Mq.ProduceAsync("produce", _payloads);
}

/// <summary>Consume 20,000 1 KiB messages in batches of 1000, next to a bare iterator scan of the same stored messages.</summary>
[MemoryDiagnoser]
public class RocksMqConsumeBenchmarks
{
    private const int Messages = 20_000;

    private RocksMqBench _bench = null!;

    [GlobalSetup]
    public void Setup()
    {
        _bench = new RocksMqBench();
        _bench.CreateChannelAsync("consume").GetAwaiter().GetResult();
        foreach (var chunk in RocksMqBench.Payloads(Messages, 1024).Chunk(1000))
        {
            _bench.Mq.ProduceAsync("consume", chunk).GetAwaiter().GetResult();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    [Benchmark(Baseline = true, Description = "raw iterator scan")]
    public int RawScan() => _bench.RawScan("consume");

    [Benchmark(Description = "raw iterator scan, keeping each batch of 1000")]
    public int RawScanKeepingBatches() => _bench.RawScanKeepingBatches("consume", 1000);

    [Benchmark(Description = "RocksMQ consume n=1000")]
    public async Task<int> Consume()
    {
        await _bench.Mq.SeekToAsync("consume", "bench", Domain.Mq.MqStartPosition.Earliest);
        var count = 0;
        for (var batch = await _bench.Mq.ConsumeAsync("consume", "bench", 1000); batch.Count > 0; batch = await _bench.Mq.ConsumeAsync("consume", "bench", 1000))
        {
            count += batch.Count;
        }
        return count;
    }
}

/// <summary>
/// About 10-byte messages one at a time, as Milvus's own RocksMQ benchmark does: produce (one message per call,
/// from one caller and from 4 or 16 concurrent callers, whose calls RocksMQ commits together) next to a raw single
/// put, and consume (n = 1 per call, and n = 1000) over the same count.
/// </summary>
[MemoryDiagnoser]
public class RocksMqSmallMessageBenchmarks
{
    private const int PerInvoke = 4000;

    private RocksMqBench _bench = null!;
    private ReadOnlyMemory<byte>[] _one = null!;

    [GlobalSetup]
    public void Setup()
    {
        _bench = new RocksMqBench();
        _bench.CreateChannelAsync("small").GetAwaiter().GetResult();
        _bench.CreateChannelAsync("read").GetAwaiter().GetResult();
        _one = RocksMqBench.Payloads(1, 10);
        var filler = RocksMqBench.Payloads(PerInvoke, 10);
        _bench.Mq.ProduceAsync("read", filler).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = PerInvoke, Description = "raw put, one at a time")]
    public void RawPutOne()
    {
        for (var i = 0; i < PerInvoke; i++)
        {
            _bench.RawPut(_one);
        }
    }

    [Benchmark(OperationsPerInvoke = PerInvoke, Description = "RocksMQ produce, one at a time")]
    public Task ProduceOne() => ProduceFrom(1);

    [Benchmark(OperationsPerInvoke = PerInvoke, Description = "RocksMQ produce, one at a time, 4 callers")]
    public Task ProduceOneFrom4() => ProduceFrom(4);

    [Benchmark(OperationsPerInvoke = PerInvoke, Description = "RocksMQ produce, one at a time, 16 callers")]
    public Task ProduceOneFrom16() => ProduceFrom(16);

    [Benchmark(OperationsPerInvoke = PerInvoke, Description = "RocksMQ consume, n = 1")]
    public async Task ConsumeOne()
    {
        await _bench.Mq.SeekToAsync("read", "bench", Domain.Mq.MqStartPosition.Earliest);
        for (var i = 0; i < PerInvoke; i++)
        {
            await _bench.Mq.ConsumeAsync("read", "bench", 1);
        }
    }

    [Benchmark(OperationsPerInvoke = PerInvoke, Description = "RocksMQ consume, n = 1000")]
    public async Task ConsumeThousands()
    {
        await _bench.Mq.SeekToAsync("read", "bench", Domain.Mq.MqStartPosition.Earliest);
        for (var i = 0; i < PerInvoke; i += 1000)
        {
            await _bench.Mq.ConsumeAsync("read", "bench", 1000);
        }
    }

    private Task ProduceFrom(int callers) => Task.WhenAll(Enumerable.Range(0, callers).Select(async _ =>
    {
        await Task.Yield();
        for (var i = 0; i < PerInvoke / callers; i++)
        {
            await _bench.Mq.ProduceAsync("small", _one);
        }
    }));
}
