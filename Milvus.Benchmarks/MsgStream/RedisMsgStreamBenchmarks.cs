using BenchmarkDotNet.Attributes;
using Milvus.Benchmarks.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Streams;

namespace Milvus.Benchmarks.MsgStream;

/// <summary>
/// Produce a pack of 1 KiB one-row Insert messages through a MsgStream on Redis Streams (repack, marshal, one Lua
/// script per channel), next to raw StackExchange.Redis XADDs of the same marshalled bytes pipelined in one batch
/// (one round trip, no script, no atomicity), and next to the bare <c>RedisMqClient.ProduceAsync</c> of those bytes,
/// which splits the gap into the queue's share and the stream's; the stream's own client-side work (repack and
/// marshal, no write) is measured alone too. Both streams are emptied after every iteration, so
/// Redis's memory stays bounded.
/// </summary>
[MemoryDiagnoser]
[WarmupCount(3)]
[IterationCount(15)]
[InvocationCount(64)]
public class RedisMsgStreamProduceBenchmarks
{
    private const string Channel = "stream";

    private RedisMqBench _bench = null!;
    private IMsgStream _producer = null!;
    private MsgPack _pack = null!;
    private ReadOnlyMemory<byte>[] _payloads = null!;

    [Params(100, 1000)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _bench = new RedisMqBench();
        _bench.Reset(Channel);
        (_producer, _pack, _payloads) = MsgStreamBench.Producer(_bench.Mq, Channel, BatchSize);
    }

    [IterationCleanup]
    public void Empty() => _bench.Reset(Channel);

    [GlobalCleanup]
    public void Cleanup()
    {
        _producer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _bench.Dispose();
    }

    [Benchmark(Baseline = true, Description = "raw pipelined XADD")]
    public Task RawXAdd() => _bench.RawAddAsync(_payloads);

    [Benchmark(Description = "Redis MQ produce")]
    public Task<IReadOnlyList<long>> MqProduce() => _bench.Mq.ProduceAsync(Channel, _payloads);

    [Benchmark(Description = "MsgStream produce")]
    public Task<IReadOnlyList<MsgPosition>> StreamProduce() => _producer.ProduceAsync(_pack);

    /// <summary>The client-side work that a MsgStream produce adds to the queue's: the default repack and one marshal per message, without writing.</summary>
    [Benchmark(Description = "repack + marshal only")]
    public int RepackAndMarshal()
    {
        var bytes = 0;
        foreach (var part in RepackFuncs.Default(_pack.Msgs, RepackFuncs.ChannelIndices(_pack.Msgs, 1)).Values)
        {
            foreach (var msg in part.Msgs)
            {
                bytes += msg.Marshal().Length;
            }
        }
        return bytes;
    }
}

/// <summary>
/// Consume 20,000 1 KiB one-row Insert messages and 20 time ticks from the start of one Redis stream, all in
/// batches of 1000: a raw <c>XRANGE</c> walk of the queue's stream key (the baseline) and a raw <c>XREADGROUP</c>
/// walk of it through a consumer group of its own, next to <c>RedisMqClient.ConsumeAsync</c> (with and without
/// unmarshalling each message), a plain MsgStream and a time-ticked MsgStream (which decode every message and,
/// for the time-ticked one, align them into 20 packs).
/// </summary>
[MemoryDiagnoser]
[WarmupCount(3)]
[IterationCount(15)]
public class RedisMsgStreamConsumeBenchmarks
{
    private const int Ticks = 20;
    private const string Channel = "consume";
    private const string RawGroup = "raw";

    private readonly UnmarshalDispatcher _dispatcher = new();
    private RedisMqBench _bench = null!;
    private MsgStreamFactory _factory = null!;

    /// <summary>The streams' <see cref="MsgStreamSettings.BufferSize"/> (packs the pump may run ahead of the reader).</summary>
    public int BufferSize { get; set; } = 64;

    /// <summary>The streams' <see cref="MsgStreamSettings.ReadBatchSize"/>; 0 keeps the default.</summary>
    public int ReadBatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _bench = new RedisMqBench();
        _bench.Reset(Channel);
        MsgStreamBench.ProduceTickedAsync(_bench.Mq, Channel, Ticks).GetAwaiter().GetResult();
        _bench.Db.StreamCreateConsumerGroup(_bench.Mq.StreamKey(Channel), RawGroup, "0-0", createStream: false);
        _factory = MsgStreamBench.Factory(_bench.Mq, BufferSize, ReadBatchSize);
    }

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    [Benchmark(Baseline = true, Description = "raw XRANGE walk n=1000")]
    public Task<int> RawRange() => _bench.RawRangeAsync(_bench.Mq.StreamKey(Channel), MsgStreamBench.PerTick);

    [Benchmark(Description = "raw XREADGROUP walk n=1000")]
    public Task<int> RawReadGroup() => _bench.RawReadGroupAsync(_bench.Mq.StreamKey(Channel), RawGroup, MsgStreamBench.PerTick);

    [Benchmark(Description = "Redis MQ consume n=1000")]
    public Task<int> MqConsume() => MsgStreamBench.DrainGroupAsync(_bench.Mq, Channel, "bench");

    [Benchmark(Description = "Redis MQ consume n=1000 + unmarshal")]
    public Task<int> MqConsumeAndUnmarshal() => MsgStreamBench.DrainGroupAsync(_bench.Mq, Channel, "bench", _dispatcher);

    [Benchmark(Description = "MsgStream consume")]
    public Task<int> StreamConsume() => MsgStreamBench.ConsumeAsync(_factory.NewMsgStream(), Channel, Ticks * (MsgStreamBench.PerTick + 1));

    [Benchmark(Description = "TtMsgStream consume")]
    public Task<int> TtStreamConsume() => MsgStreamBench.ConsumeAsync(_factory.NewTtMsgStream(), Channel, Ticks * MsgStreamBench.PerTick);
}
