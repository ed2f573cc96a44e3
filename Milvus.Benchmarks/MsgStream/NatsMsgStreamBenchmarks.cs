using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Nats;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Streams;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Milvus.Benchmarks.MsgStream;

/// <summary>
/// A NATS JetStream queue under a fresh stream prefix on the NATS that MILVUS_TEST_NATS names
/// (<c>source scripts/servers.sh &amp;&amp; servers_install &amp;&amp; servers_start</c> exports it, with a max_payload of
/// 8 MiB), and a raw stream of its own beside it for the raw NATS.Net client's baselines.
/// </summary>
internal sealed class NatsMqBench : IAsyncDisposable
{
    private readonly string _prefix = "bench" + Guid.NewGuid().ToString("N")[..12];

    private NatsMqBench(NatsMqClient mq, NatsConnection raw)
    {
        Mq = mq;
        Raw = raw;
        Js = new NatsJSContext(raw);
    }

    public NatsMqClient Mq { get; }

    public NatsConnection Raw { get; }

    public NatsJSContext Js { get; }

    /// <summary>The raw stream's name; its subject is the same.</summary>
    public string RawStream => _prefix + "_raw";

    public static async Task<NatsMqBench> StartAsync()
    {
        var url = Environment.GetEnvironmentVariable("MILVUS_TEST_NATS") is { Length: > 0 } u
            ? u
            : throw new InvalidOperationException("MILVUS_TEST_NATS is not set: start a server with scripts/servers.sh first.");
        var prefix = "bench" + Guid.NewGuid().ToString("N")[..12];
        var mq = await NatsMqClient.ConnectAsync(new NatsMqOptions { Url = url, StreamPrefix = prefix });
        var raw = new NatsConnection(new NatsOpts { Url = url });
        var bench = new NatsMqBench(mq, raw);
        await bench.Js.CreateStreamAsync(new StreamConfig(bench.RawStream, [bench.RawStream]) { Storage = StreamConfigStorage.File });
        return bench;
    }

    /// <summary>Empties the raw stream and makes the channel anew, with the group <c>bench</c> at its start.</summary>
    public async Task ResetAsync(string channel)
    {
        await Js.PurgeStreamAsync(RawStream, new StreamPurgeRequest());
        if (await Mq.ChannelExistsAsync(channel))
        {
            await Mq.DestroyChannelAsync(channel);
        }
        await Mq.CreateChannelAsync(channel);
        await Mq.CreateConsumerGroupAsync(channel, "bench", MqStartPosition.Earliest);
    }

    /// <summary>One JetStream publish per payload, all in flight at once, then every ack: NATS.Net's own batch, not atomic.</summary>
    public async Task RawPublishEachAsync(ReadOnlyMemory<byte>[] payloads)
    {
        var futures = new NatsJSPublishConcurrentFuture[payloads.Length];
        for (var i = 0; i < payloads.Length; i++)
        {
            futures[i] = await Js.PublishConcurrentAsync(RawStream, payloads[i]);
        }
        foreach (var future in futures)
        {
            await using (future)
            {
                (await future.GetResponseAsync()).EnsureSuccess();
            }
        }
    }

    /// <summary>The payloads concatenated into one JetStream message: the least a stored batch costs on JetStream.</summary>
    public async Task RawPublishOneAsync(ReadOnlyMemory<byte>[] payloads)
    {
        var body = new byte[payloads.Sum(p => p.Length)];
        var offset = 0;
        foreach (var payload in payloads)
        {
            payload.Span.CopyTo(body.AsSpan(offset));
            offset += payload.Length;
        }
        (await Js.PublishAsync(RawStream, body)).EnsureSuccess();
    }

    /// <summary>
    /// Reads the raw stream from its start with an ordered consumer in fetches of <paramref name="batch"/>, touching each
    /// payload as a consumer would. Returns how many msgs it read.
    /// </summary>
    public async Task<int> RawReadAsync(int batch, int expected)
    {
        var consumer = await Js.CreateOrderedConsumerAsync(RawStream);
        var count = 0;
        while (count < expected)
        {
            // Never more than what is left: a fetch that cannot fill up waits for its expiry.
            await foreach (var msg in consumer.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = Math.Min(batch, expected - count) }))
            {
                count += msg.Data is { Length: > 0 } ? 1 : 0;
            }
        }
        return count;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var stream in new[] { RawStream, Mq.DataStream, Mq.MetaStream })
        {
            await Js.DeleteStreamAsync(stream);
        }
        await Mq.DisposeAsync();
        await Raw.DisposeAsync();
    }
}

/// <summary>
/// Produce a pack of 1 KiB one-row Insert messages through a MsgStream on NATS JetStream (repack, marshal, one framed
/// JetStream message per channel), next to the bare <c>NatsMqClient.ProduceAsync</c> of the same bytes and to the raw
/// NATS.Net client publishing each of them as a JetStream message, all in flight at once (the baseline: no atomicity),
/// and publishing them concatenated as one JetStream message (the floor: no framing, no channel check).
/// </summary>
public sealed class NatsMsgStreamProduceBenchmarks
{
    private const string Channel = "stream";

    private NatsMqBench _bench = null!;
    private IMsgStream _producer = null!;
    private MsgPack _pack = null!;
    private ReadOnlyMemory<byte>[] _payloads = null!;

    public int BatchSize { get; set; } = 100;

    public void Setup()
    {
        _bench = NatsMqBench.StartAsync().GetAwaiter().GetResult();
        Empty();
        (_producer, _pack, _payloads) = MsgStreamBench.Producer(_bench.Mq, Channel, BatchSize);
    }

    public void Empty() => _bench.ResetAsync(Channel).GetAwaiter().GetResult();

    public void Cleanup()
    {
        _producer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _bench.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    public Task RawPublishEach() => _bench.RawPublishEachAsync(_payloads);

    public Task RawPublishOne() => _bench.RawPublishOneAsync(_payloads);

    public Task<IReadOnlyList<long>> MqProduce() => _bench.Mq.ProduceAsync(Channel, _payloads);

    public Task<IReadOnlyList<MsgPosition>> StreamProduce() => _producer.ProduceAsync(_pack);
}

/// <summary>
/// Consume 20,000 1 KiB one-row Insert messages and 20 time ticks from the start of a channel on NATS JetStream, in
/// reads of 1000: the raw NATS.Net client reading the same msgs, one JetStream message each, with an ordered consumer
/// (the baseline), next to <c>NatsMqClient.ConsumeAsync</c> (batches of 1001 framed in 20 JetStream messages), a plain
/// MsgStream and a time-ticked MsgStream (which decode every message and align them into 20 packs).
/// </summary>
public sealed class NatsMsgStreamConsumeBenchmarks
{
    private const int Ticks = 20;
    private const string Channel = "consume";

    private NatsMqBench _bench = null!;
    private MsgStreamFactory _factory = null!;

    public int BufferSize { get; set; } = 64;

    public int ReadBatchSize { get; set; }

    public void Setup()
    {
        _bench = NatsMqBench.StartAsync().GetAwaiter().GetResult();
        _bench.ResetAsync(Channel).GetAwaiter().GetResult();
        MsgStreamBench.ProduceTickedAsync(_bench.Mq, Channel, Ticks).GetAwaiter().GetResult();
        for (var t = 0; t < Ticks; t++)
        {
            _bench.RawPublishEachAsync(MsgStreamBench.Marshal(MsgStreamBench.Msgs(MsgStreamBench.PerTick + 1, 1))).GetAwaiter().GetResult();
        }
        _factory = MsgStreamBench.Factory(_bench.Mq, BufferSize, ReadBatchSize);
    }

    public void Cleanup() => _bench.DisposeAsync().AsTask().GetAwaiter().GetResult();

    public Task<int> RawRead() => _bench.RawReadAsync(MsgStreamBench.PerTick, Ticks * (MsgStreamBench.PerTick + 1));

    public Task<int> MqConsume() => MsgStreamBench.DrainGroupAsync(_bench.Mq, Channel, "bench");

    public Task<int> StreamConsume() => MsgStreamBench.ConsumeAsync(_factory.NewMsgStream(), Channel, Ticks * (MsgStreamBench.PerTick + 1));

    public Task<int> TtStreamConsume() => MsgStreamBench.ConsumeAsync(_factory.NewTtMsgStream(), Channel, Ticks * MsgStreamBench.PerTick);
}
