using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Milvus.Benchmarks.Mq;
using Milvus.Domain.Kv.Memory;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Gateway;
using Milvus.Domain.MsgStream.Streams;
using Milvus.Domain.Tso;

namespace Milvus.Benchmarks.MsgStream;

/// <summary>Shared set-up and loops: 1 KiB payload messages on one channel of any queue, with a time tick after every 1000.</summary>
internal static class MsgStreamBench
{
    public const int PerTick = 1000;

    /// <summary>Streams with the default settings (reads of 256 messages) but for the pack buffer.</summary>
    /// <summary>A factory of streams over <paramref name="mq"/>; a <paramref name="readBatchSize"/> of 0 keeps the default.</summary>
    public static MsgStreamFactory Factory(IMqClient mq, int bufferSize = 64, int readBatchSize = 0) =>
        new(mq, TimeProvider.System, NullLoggerFactory.Instance, settings: readBatchSize > 0
            ? new MsgStreamSettings(BufferSize: bufferSize, ReadBatchSize: readBatchSize)
            : new MsgStreamSettings(BufferSize: bufferSize));

    /// <summary><paramref name="count"/> one-row Insert messages of 1 KiB from timestamp <paramref name="firstTs"/> on, all keyed to channel 0.</summary>
    public static List<TsMsg> Msgs(int count, ulong firstTs) =>
        [.. RocksMqBench.Payloads(count, 1024).Select((p, i) => (TsMsg)new InsertMsg
        {
            Id = (long)firstTs + i,
            BeginTs = firstTs + (ulong)i,
            EndTs = firstTs + (ulong)i,
            Rows = [new InsertRowData((long)firstTs + i, firstTs + (ulong)i, 0, p)],
        })];

    /// <summary>The gateway's produce path over <paramref name="mq"/>, with a TSO on a memory KV.</summary>
    public static GatewayProducer GatewayProducer(IMqClient mq)
    {
        var tso = new TimestampOracle(new MemoryKv(), TimeProvider.System, new TsoOptions());
        tso.InitTimestampAsync().GetAwaiter().GetResult();
        return new GatewayProducer(mq, tso, new InFlightTimestamps(), new TickedChannels(new MemoryKv(), TimeProvider.System));
    }

    public static ReadOnlyMemory<byte>[] Marshal(IEnumerable<TsMsg> msgs) => [.. msgs.Select(m => (ReadOnlyMemory<byte>)m.Marshal())];

    /// <summary>A producer stream on <paramref name="channel"/>, and a pack of <paramref name="batchSize"/> messages with their marshalled bytes.</summary>
    public static (IMsgStream Producer, MsgPack Pack, ReadOnlyMemory<byte>[] Payloads) Producer(IMqClient mq, string channel, int batchSize)
    {
        var producer = Factory(mq).NewMsgStream();
        producer.AsProducerAsync([channel]).GetAwaiter().GetResult();
        var msgs = Msgs(batchSize, 1);
        return (producer, MsgPack.Of(msgs), Marshal(msgs));
    }

    /// <summary>Writes <paramref name="ticks"/> batches of <see cref="PerTick"/> messages, each followed by a time tick, into a channel.</summary>
    public static async Task ProduceTickedAsync(IMqClient mq, string channel, int ticks)
    {
        for (var t = 0; t < ticks; t++)
        {
            var msgs = Msgs(PerTick, (ulong)(t * (PerTick + 1)) + 1);
            msgs.Add(TimeTickMsg.At(msgs[^1].EndTs + 1));
            await mq.ProduceAsync(channel, Marshal(msgs));
        }
    }

    /// <summary>
    /// Moves <paramref name="group"/> to the start of the channel and reads it to the end through
    /// <see cref="IMqClient.ConsumeAsync"/> with n = <see cref="PerTick"/>, unmarshalling each message when a
    /// dispatcher is given. Returns how many messages it read.
    /// </summary>
    public static async Task<int> DrainGroupAsync(IMqClient mq, string channel, string group, UnmarshalDispatcher? dispatcher = null)
    {
        await mq.SeekToAsync(channel, group, MqStartPosition.Earliest);
        var count = 0;
        for (var batch = await mq.ConsumeAsync(channel, group, PerTick); batch.Count > 0; batch = await mq.ConsumeAsync(channel, group, PerTick))
        {
            if (dispatcher is not null)
            {
                foreach (var message in batch)
                {
                    _ = dispatcher.Unmarshal(((ReadOnlyMemory<byte>)message.Payload).Span);
                }
            }
            count += batch.Count;
        }
        return count;
    }

    /// <summary>Subscribes <paramref name="stream"/> to the start of the channel and takes packs until it has <paramref name="expected"/> messages.</summary>
    public static async Task<int> ConsumeAsync(IMsgStream stream, string channel, int expected)
    {
        await using (stream)
        {
            await stream.AsConsumerAsync([channel], "bench-stream", MqStartPosition.Earliest);
            await stream.SeekAsync([new MsgPosition(channel, 0, "bench-stream", 0)]);
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

/// <summary>
/// Produce a pack of 1 KiB messages through a MsgStream (repack, marshal, write), and through the gateway's
/// produce path (<see cref="GatewayProducer"/>: channel check, repack, marshal, write; the msgs carry timestamps, so
/// no TSO call), next to the raw <see cref="IMqClient.ProduceAsync(string, IReadOnlyList{ReadOnlyMemory{byte}}, CancellationToken)"/> of the same marshalled bytes on the same RocksMQ.
/// </summary>
[MemoryDiagnoser]
public class MsgStreamProduceBenchmarks
{
    private RocksMqBench _bench = null!;
    private IMsgStream _producer = null!;
    private GatewayProducer _gateway = null!;
    private MsgPack _pack = null!;
    private ReadOnlyMemory<byte>[] _payloads = null!;

    [Params(100, 1000)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _bench = new RocksMqBench();
        _bench.Mq.CreateChannelAsync("raw").GetAwaiter().GetResult();
        (_producer, _pack, _payloads) = MsgStreamBench.Producer(_bench.Mq, "stream", BatchSize);
        _bench.Mq.CreateChannelAsync("gateway").GetAwaiter().GetResult();
        _gateway = MsgStreamBench.GatewayProducer(_bench.Mq);
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

    [Benchmark(Description = "GatewayProducer produce")]
    public Task<IReadOnlyList<MsgPosition>> GatewayProduce() => _gateway.ProduceAsync(["gateway"], _pack.Msgs, broadcast: false);
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
    private const int ReadBatch = 256;

    private RocksMqBench _bench = null!;
    private readonly UnmarshalDispatcher _dispatcher = new();
    private MsgStreamFactory _factory = null!;

    /// <summary>The streams' <see cref="MsgStreamSettings.BufferSize"/> (packs the pump may run ahead of the reader).</summary>
    public int BufferSize { get; set; } = 64;

    /// <summary>The streams' <see cref="MsgStreamSettings.ReadBatchSize"/>; 0 keeps the default.</summary>
    public int ReadBatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _bench = new RocksMqBench();
        _bench.CreateChannelAsync(Channel).GetAwaiter().GetResult();
        MsgStreamBench.ProduceTickedAsync(_bench.Mq, Channel, Ticks).GetAwaiter().GetResult();
        _factory = MsgStreamBench.Factory(_bench.Mq, BufferSize, ReadBatchSize);
    }

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    [Benchmark(Baseline = true, Description = "raw IMqClient consume n=1000")]
    public Task<int> RawConsume() => MsgStreamBench.DrainGroupAsync(_bench.Mq, Channel, "bench");

    [Benchmark(Description = "raw consume n=1000 + unmarshal")]
    public Task<int> RawConsumeAndUnmarshal() => MsgStreamBench.DrainGroupAsync(_bench.Mq, Channel, "bench", _dispatcher);

    /// <summary>
    /// What a stream does for each message, serially on one thread: reads of 256 (the streams' default), the
    /// header-only decode and the position of each message.
    /// </summary>
    [Benchmark(Description = "raw consume n=256 + header decode")]
    public async Task<int> RawConsumeAndHeaderDecode()
    {
        await _bench.Mq.SeekToAsync(Channel, "bench", MqStartPosition.Earliest);
        var count = 0;
        for (var batch = await _bench.Mq.ConsumeAsync(Channel, "bench", ReadBatch); batch.Count > 0; batch = await _bench.Mq.ConsumeAsync(Channel, "bench", ReadBatch))
        {
            var msgs = new List<TsMsg>(batch.Count);
            foreach (var message in batch)
            {
                var msg = _dispatcher.Unmarshal(message.Payload);
                msg.Position = new MsgPosition(Channel, message.MsgId, "bench", msg.EndTs);
                msgs.Add(msg);
            }
            count += msgs.Count;
        }
        return count;
    }

    [Benchmark(Description = "MsgStream consume")]
    public Task<int> StreamConsume() => MsgStreamBench.ConsumeAsync(_factory.NewMsgStream(), Channel, Ticks * (MsgStreamBench.PerTick + 1));

    [Benchmark(Description = "TtMsgStream consume")]
    public Task<int> TtStreamConsume() => MsgStreamBench.ConsumeAsync(_factory.NewTtMsgStream(), Channel, Ticks * MsgStreamBench.PerTick);
}
