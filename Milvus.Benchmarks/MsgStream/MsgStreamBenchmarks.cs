using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Milvus.Benchmarks.Mq;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Streams;

namespace Milvus.Benchmarks.MsgStream;

/// <summary>Shared set-up: 1 KiB payload messages on one RocksMQ channel, with a time tick after every 1000.</summary>
internal static class MsgStreamBench
{
    public const int PerTick = 1000;

    public static MsgStreamFactory Factory(IMqClient mq, int bufferSize = 64, int readBatchSize = PerTick) =>
        new(mq, TimeProvider.System, NullLoggerFactory.Instance, settings: new MsgStreamSettings(BufferSize: bufferSize, ReadBatchSize: readBatchSize));

    /// <summary><paramref name="count"/> one-row Insert messages of 1 KiB from timestamp <paramref name="firstTs"/> on, all keyed to channel 0.</summary>
    public static List<TsMsg> Msgs(int count, ulong firstTs) =>
        [.. RocksMqBench.Payloads(count, 1024).Select((p, i) => (TsMsg)new InsertMsg
        {
            Id = (long)firstTs + i,
            BeginTs = firstTs + (ulong)i,
            EndTs = firstTs + (ulong)i,
            Rows = [new InsertRowData((long)firstTs + i, firstTs + (ulong)i, 0, p)],
        })];

    public static ReadOnlyMemory<byte>[] Marshal(IEnumerable<TsMsg> msgs) => [.. msgs.Select(m => (ReadOnlyMemory<byte>)m.Marshal())];
}

/// <summary>
/// Produce a pack of 1 KiB messages through a MsgStream (repack, marshal, write), next to the raw
/// <see cref="IMqClient.ProduceAsync"/> of the same marshalled bytes on the same RocksMQ.
/// </summary>
[MemoryDiagnoser]
public class MsgStreamProduceBenchmarks
{
    private RocksMqBench _bench = null!;
    private IMsgStream _producer = null!;
    private MsgPack _pack = null!;
    private ReadOnlyMemory<byte>[] _payloads = null!;

    [Params(100, 1000)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _bench = new RocksMqBench();
        _bench.Mq.CreateChannelAsync("raw").GetAwaiter().GetResult();
        _producer = MsgStreamBench.Factory(_bench.Mq).NewMsgStream();
        _producer.AsProducerAsync(["stream"]).GetAwaiter().GetResult();
        var msgs = MsgStreamBench.Msgs(BatchSize, 1);
        _pack = MsgPack.Of(msgs);
        _payloads = MsgStreamBench.Marshal(msgs);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _producer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _bench.Dispose();
    }

    [Benchmark(Baseline = true, Description = "raw IMqClient produce")]
    public Task<IReadOnlyList<long>> RawProduce() => _bench.Mq.ProduceAsync("raw", _payloads);

    [Benchmark(Description = "MsgStream produce")]
    public Task<IReadOnlyList<MsgPosition>> StreamProduce() => _producer.ProduceAsync(_pack);
}

/// <summary>
/// Consume 20,000 1 KiB messages (and 20 time ticks) from the start of a channel: raw
/// <see cref="IMqClient.ConsumeAsync"/> n = 1000, next to a plain MsgStream and a time-ticked MsgStream (which also
/// decode every message and, for the time-ticked one, align them into 20 packs), and next to a raw consume that
/// also unmarshals each message, which shows what the streams add beyond decoding.
/// </summary>
[MemoryDiagnoser]
public class MsgStreamConsumeBenchmarks
{
    private const int Ticks = 20;
    private const string Channel = "consume";

    private RocksMqBench _bench = null!;
    private readonly UnmarshalDispatcher _dispatcher = new();
    private MsgStreamFactory _factory = null!;

    /// <summary>The streams' <see cref="MsgStreamSettings.BufferSize"/> (packs the pump may run ahead of the reader).</summary>
    public int BufferSize { get; set; } = 64;

    /// <summary>The streams' <see cref="MsgStreamSettings.ReadBatchSize"/> (queue messages per read).</summary>
    public int ReadBatchSize { get; set; } = MsgStreamBench.PerTick;

    [GlobalSetup]
    public void Setup()
    {
        _bench = new RocksMqBench();
        _bench.CreateChannelAsync(Channel).GetAwaiter().GetResult();
        for (var t = 0; t < Ticks; t++)
        {
            var msgs = MsgStreamBench.Msgs(MsgStreamBench.PerTick, (ulong)(t * (MsgStreamBench.PerTick + 1)) + 1);
            msgs.Add(TimeTickMsg.At(msgs[^1].EndTs + 1));
            _bench.Mq.ProduceAsync(Channel, MsgStreamBench.Marshal(msgs)).GetAwaiter().GetResult();
        }
        _factory = MsgStreamBench.Factory(_bench.Mq, BufferSize, ReadBatchSize);
    }

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    [Benchmark(Baseline = true, Description = "raw IMqClient consume n=1000")]
    public async Task<int> RawConsume()
    {
        await _bench.Mq.SeekToAsync(Channel, "bench", MqStartPosition.Earliest);
        var count = 0;
        for (var batch = await _bench.Mq.ConsumeAsync(Channel, "bench", MsgStreamBench.PerTick); batch.Count > 0; batch = await _bench.Mq.ConsumeAsync(Channel, "bench", MsgStreamBench.PerTick))
        {
            count += batch.Count;
        }
        return count;
    }

    [Benchmark(Description = "raw consume n=1000 + unmarshal")]
    public async Task<int> RawConsumeAndUnmarshal()
    {
        await _bench.Mq.SeekToAsync(Channel, "bench", MqStartPosition.Earliest);
        var count = 0;
        for (var batch = await _bench.Mq.ConsumeAsync(Channel, "bench", MsgStreamBench.PerTick); batch.Count > 0; batch = await _bench.Mq.ConsumeAsync(Channel, "bench", MsgStreamBench.PerTick))
        {
            foreach (var message in batch)
            {
                _ = _dispatcher.Unmarshal(message.Payload);
                count++;
            }
        }
        return count;
    }

    [Benchmark(Description = "MsgStream consume")]
    public Task<int> StreamConsume() => ConsumeAsync(_factory.NewMsgStream(), Ticks * (MsgStreamBench.PerTick + 1));

    [Benchmark(Description = "TtMsgStream consume")]
    public Task<int> TtStreamConsume() => ConsumeAsync(_factory.NewTtMsgStream(), Ticks * MsgStreamBench.PerTick);

    private static async Task<int> ConsumeAsync(IMsgStream stream, int expected)
    {
        await using (stream)
        {
            await stream.AsConsumerAsync([Channel], "bench-stream", MqStartPosition.Earliest);
            await stream.SeekAsync([new MsgPosition(Channel, 0, "bench-stream", 0)]);
            stream.Start();
            var count = 0;
            while (count < expected)
            {
                var pack = await stream.ConsumeAsync() ?? throw new InvalidOperationException("The stream ended early.");
                count += pack.Msgs.Count;
            }
            return count;
        }
    }
}
