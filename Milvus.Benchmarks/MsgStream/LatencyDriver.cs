using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Milvus.Benchmarks.Mq;
using Milvus.Domain.Channels;
using Milvus.Domain.Kv.Memory;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Gateway;
using Milvus.Domain.MsgStream.Streams;
using Milvus.Domain.Tso;
using Milvus.Workers.TimeTick;

namespace Milvus.Benchmarks.MsgStream;

/// <summary>
/// End-to-end latency from produce to an aligned pack, with in-process domain objects (no HTTP): the gateway's
/// produce path (<see cref="GatewayProducer"/>: TSO timestamp, in-flight registration, RocksMQ write) and its time
/// tick worker (<see cref="TimeTickService"/>) over one RocksMQ, a TSO over an in-memory KV, and two subscriptions
/// on the same two channels: a time-ticked one (the measurement) and a plain one (the baseline, same msgs, same
/// run). One msg is produced every 2 ms; its latency is from just before the produce call to the moment its pack
/// is taken from the stream. Usage: <c>dotnet run -c Release --project Milvus.Benchmarks -- msgstream-latency [seconds] [intervalMs...]</c>.
/// </summary>
public static class LatencyDriver
{
    private static readonly string[] Channels = ["lat-0", "lat-1"];

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        int[] intervals = args.Length > 1 ? [.. args[1..].Select(a => int.Parse(a, CultureInfo.InvariantCulture))] : [200, 10];
        Console.WriteLine($"MsgStream latency, produce → pack, {seconds} s per interval, one msg every 2 ms over {Channels.Length} channels, {Environment.ProcessorCount} cores");
        foreach (var interval in intervals)
        {
            var (aligned, plain, count) = await MeasureAsync(interval, TimeSpan.FromSeconds(seconds));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"tick {interval,4} ms: {count} msgs; TtMsgStream p50 {Percentile(aligned, 0.50):0.0} ms p99 {Percentile(aligned, 0.99):0.0} ms " +
                $"(p99 - interval {Percentile(aligned, 0.99) - interval:0.0} ms, target <= 20); plain MsgStream baseline p50 {Percentile(plain, 0.50):0.0} ms p99 {Percentile(plain, 0.99):0.0} ms; " +
                $"ratio p99 aligned/plain {Percentile(aligned, 0.99) / Percentile(plain, 0.99):0.0}"));
        }
        return 0;
    }

    private static async Task<(List<double> Aligned, List<double> Plain, int Count)> MeasureAsync(int intervalMs, TimeSpan duration)
    {
        using var bench = new RocksMqBench();
        foreach (var channel in Channels)
        {
            await bench.Mq.CreateChannelAsync(channel);
        }
        var oracle = new TimestampOracle(new MemoryKv(), TimeProvider.System, new TsoOptions());
        await oracle.InitTimestampAsync();
        var factory = new MsgStreamFactory(bench.Mq, TimeProvider.System, NullLoggerFactory.Instance, settings: new MsgStreamSettings(ReadWait: TimeSpan.FromMilliseconds(500)));
        var producer = new GatewayProducer(bench.Mq, oracle, new InFlightTimestamps(), new TickedChannels(new MemoryKv(), TimeProvider.System));
        var options = Options.Create(new TimeTickOptions { IntervalMs = intervalMs });
        var meta = new MemoryKv();
        var channels = new ChannelService(bench.Mq, meta, new GlobalIdAllocator(meta, TimeProvider.System, new TsoOptions()), NullLogger<ChannelService>.Instance);
        var component = new TimeTickComponent(producer, oracle, bench.Mq, channels, [], options, TimeProvider.System, NullLogger<TimeTickComponent>.Instance);
        await component.InitAsync(CancellationToken.None);
        await component.StartAsync(CancellationToken.None);
        using var services = new ServiceCollection().Configure<TimeTickOptions>(o => o.IntervalMs = intervalMs).BuildServiceProvider();
        using var ticks = new TimeTickService(component, services.GetRequiredService<IOptionsMonitor<TimeTickOptions>>(), TimeProvider.System);
        await using var aligned = factory.NewTtMsgStream();
        await using var plain = factory.NewMsgStream();
        await aligned.AsConsumerAsync(Channels, "aligned", MqStartPosition.Latest);
        await plain.AsConsumerAsync(Channels, "plain", MqStartPosition.Latest);
        aligned.Start();
        plain.Start();

        using var stop = new CancellationTokenSource();
        var tso = Task.Run(() => UpdateTsoAsync(oracle, stop.Token));
        await ticks.StartAsync(CancellationToken.None);
        var sentAt = new long[(int)(duration.TotalMilliseconds / 2) + 16];
        var sent = 0;
        var finished = false;
        var alignedLatencies = Task.Run(() => CollectAsync(aligned, sentAt, () => Volatile.Read(ref sent), () => Volatile.Read(ref finished)));
        var plainLatencies = Task.Run(() => CollectAsync(plain, sentAt, () => Volatile.Read(ref sent), () => Volatile.Read(ref finished)));
        using (var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(2)))
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < duration && sent < sentAt.Length && await pace.WaitForNextTickAsync())
            {
                var payload = new byte[sizeof(int)];
                BinaryPrimitives.WriteInt32LittleEndian(payload, sent);
                var msg = new PayloadMsg(MsgType.Search) { Id = sent + 1, HashKeys = [(uint)sent], Payload = payload };
                sentAt[sent] = Stopwatch.GetTimestamp();
                await producer.ProduceAsync(Channels, [msg], broadcast: false);
                Volatile.Write(ref sent, sent + 1);
            }
        }
        Volatile.Write(ref finished, true);
        var results = await Task.WhenAll(alignedLatencies, plainLatencies);
        await ticks.StopAsync(CancellationToken.None);
        await stop.CancelAsync();
        await tso;
        await component.StopAsync(CancellationToken.None);
        component.Dispose();
        return (results[0], results[1], sent);
    }

    /// <summary>Takes packs until the producer has finished and every msg it sent has arrived; one latency per msg.</summary>
    private static async Task<List<double>> CollectAsync(IMsgStream stream, long[] sentAt, Func<int> sent, Func<bool> finished)
    {
        var latencies = new List<double>();
        var seen = new HashSet<int>();
        var giveUp = Stopwatch.StartNew();
        while (!(finished() && seen.Count >= sent()))
        {
            if (!finished())
            {
                giveUp.Restart();
            }
            else if (giveUp.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException($"Only {seen.Count} of {sent()} msgs arrived.");
            }
            var pack = await stream.ConsumeAsync(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
            if (pack is null)
            {
                continue;
            }
            var now = Stopwatch.GetTimestamp();
            foreach (var msg in pack.Msgs.OfType<PayloadMsg>())
            {
                var index = BinaryPrimitives.ReadInt32LittleEndian(msg.Payload.Span);
                if (seen.Add(index))
                {
                    latencies.Add(Stopwatch.GetElapsedTime(sentAt[index], now).TotalMilliseconds);
                }
            }
        }
        return latencies;
    }

    private static async Task UpdateTsoAsync(TimestampOracle oracle, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await oracle.UpdateTimestampAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Done.
        }
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }
}
