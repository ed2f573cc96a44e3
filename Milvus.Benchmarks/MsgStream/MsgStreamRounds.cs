using System.Diagnostics;
using System.Globalization;
using Milvus.Domain.MsgStream.Streams;

namespace Milvus.Benchmarks.MsgStream;

/// <summary>
/// The MsgStream comparisons in interleaved rounds, for a shared machine: each round runs every variant once, one
/// after the other, so they see the same background load; it prints each one's median wall time and process CPU
/// time, and the median of the per-round throughput ratios to the first variant (the raw backend).
/// <list type="bullet">
/// <item><c>msgstream-consume [rounds] [buffer] [rocksmq|redis|nats] [read batch] [runs]</c>: the consumes of
/// <see cref="MsgStreamConsumeBenchmarks"/> (RocksMQ, the default), <see cref="RedisMsgStreamConsumeBenchmarks"/> or
/// <see cref="NatsMsgStreamConsumeBenchmarks"/>,
/// with the streams' pack buffer and read batch size (0: the default); each turn runs its variant
/// <c>runs</c> times in a row (default 1), so that a turn spans the collections its allocations cause.</item>
/// <item><c>msgstream-produce [rounds] [batch] [rocksmq|redis|nats]</c>: <see cref="ProduceCalls"/> produces of one batch
/// each, as in <see cref="MsgStreamProduceBenchmarks"/>, <see cref="RedisMsgStreamProduceBenchmarks"/> or
/// <see cref="NatsMsgStreamProduceBenchmarks"/>; the Redis and NATS streams are emptied before each variant's turn,
/// outside the timing.</item>
/// </list>
/// Redis runs on the server that MILVUS_TEST_REDIS names, NATS on MILVUS_TEST_NATS. Usage:
/// <c>dotnet run -c Release --project Milvus.Benchmarks -- msgstream-consume 15 64 redis</c>.
/// </summary>
public static class MsgStreamRounds
{
    /// <summary>How many produce calls one turn of a produce variant makes.</summary>
    public const int ProduceCalls = 32;

    public static async Task<int> RunConsumeAsync(string[] args)
    {
        var (rounds, bufferSize, backend, readBatch, runs) = (IntArg(args, 0, 15), IntArg(args, 1, 64), args.ElementAtOrDefault(2) ?? "rocksmq", IntArg(args, 3, 0), IntArg(args, 4, 1));
        var title = $"MsgStream consume on {backend}, {rounds} interleaved rounds of {runs} run(s) each, stream buffer {bufferSize} packs, read batch {(readBatch > 0 ? readBatch : new MsgStreamSettings().ReadBatchSize)}";
        switch (backend)
        {
            case "rocksmq":
                var rocks = new MsgStreamConsumeBenchmarks { BufferSize = bufferSize, ReadBatchSize = readBatch };
                return await RunAsync(title, rounds, rocks.Setup, rocks.Cleanup, null,
                [
                    ("raw IMqClient consume n=1000", Runs(rocks.RawConsume, runs)),
                    ("raw consume n=1000 + unmarshal", Runs(rocks.RawConsumeAndUnmarshal, runs)),
                    ("raw n=256 + header decode", Runs(rocks.RawConsumeAndHeaderDecode, runs)),
                    ("MsgStream consume", Runs(rocks.StreamConsume, runs)),
                    ("TtMsgStream consume", Runs(rocks.TtStreamConsume, runs)),
                ]);
            case "redis":
                var redis = new RedisMsgStreamConsumeBenchmarks { BufferSize = bufferSize, ReadBatchSize = readBatch };
                return await RunAsync(title, rounds, redis.Setup, redis.Cleanup, null,
                [
                    ("raw XRANGE walk n=1000", Runs(redis.RawRange, runs)),
                    ("raw XREADGROUP walk n=1000", Runs(redis.RawReadGroup, runs)),
                    ("Redis MQ consume n=1000", Runs(redis.MqConsume, runs)),
                    ("Redis MQ consume + unmarshal", Runs(redis.MqConsumeAndUnmarshal, runs)),
                    ("MsgStream consume", Runs(redis.StreamConsume, runs)),
                    ("TtMsgStream consume", Runs(redis.TtStreamConsume, runs)),
                ]);
            case "nats":
                var nats = new NatsMsgStreamConsumeBenchmarks { BufferSize = bufferSize, ReadBatchSize = readBatch };
                return await RunAsync(title, rounds, nats.Setup, nats.Cleanup, null,
                [
                    ("raw ordered consumer n=1000", Runs(nats.RawRead, runs)),
                    ("NATS MQ consume n=1000", Runs(nats.MqConsume, runs)),
                    ("MsgStream consume", Runs(nats.StreamConsume, runs)),
                    ("TtMsgStream consume", Runs(nats.TtStreamConsume, runs)),
                ]);
            default:
                throw new ArgumentException($"Unknown backend '{backend}': rocksmq, redis or nats.");
        }
    }

    public static async Task<int> RunProduceAsync(string[] args)
    {
        var (rounds, batch, backend) = (IntArg(args, 0, 15), IntArg(args, 1, 100), args.ElementAtOrDefault(2) ?? "rocksmq");
        var title = $"MsgStream produce on {backend}, {rounds} interleaved rounds of {ProduceCalls} calls with {batch} msgs each";
        switch (backend)
        {
            case "rocksmq":
                var rocks = new MsgStreamProduceBenchmarks { BatchSize = batch };
                return await RunAsync(title, rounds, rocks.Setup, rocks.Cleanup, null,
                [
                    ("raw IMqClient produce", Repeat(rocks.RawProduce)),
                    ("MsgStream produce", Repeat(rocks.StreamProduce)),
                    ("GatewayProducer produce", Repeat(rocks.GatewayProduce)),
                ]);
            case "redis":
                var redis = new RedisMsgStreamProduceBenchmarks { BatchSize = batch };
                return await RunAsync(title, rounds, redis.Setup, redis.Cleanup, redis.Empty,
                [
                    ("raw pipelined XADD", Repeat(redis.RawXAdd)),
                    ("Redis MQ produce", Repeat(redis.MqProduce)),
                    ("MsgStream produce", Repeat(redis.StreamProduce)),
                    ("repack + marshal only", Repeat(() => Task.FromResult(redis.RepackAndMarshal()))),
                ]);
            case "nats":
                var nats = new NatsMsgStreamProduceBenchmarks { BatchSize = batch };
                return await RunAsync(title, rounds, nats.Setup, nats.Cleanup, nats.Empty,
                [
                    ("raw JetStream publish each", Repeat(nats.RawPublishEach)),
                    ("raw one JetStream publish", Repeat(nats.RawPublishOne)),
                    ("NATS MQ produce", Repeat(nats.MqProduce)),
                    ("MsgStream produce", Repeat(nats.StreamProduce)),
                ]);
            default:
                throw new ArgumentException($"Unknown backend '{backend}': rocksmq, redis or nats.");
        }
    }

    private static int IntArg(string[] args, int index, int fallback) =>
        args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;

    private static Func<Task<int>> Runs(Func<Task<int>> consume, int runs) => async () =>
    {
        var count = 0;
        for (var i = 0; i < runs; i++)
        {
            count += await consume();
        }
        return count;
    };

    private static Func<Task<int>> Repeat(Func<Task> produce) => async () =>
    {
        for (var i = 0; i < ProduceCalls; i++)
        {
            await produce();
        }
        return ProduceCalls;
    };

    /// <summary>
    /// Sets the suite up, runs two warm-up rounds and then <paramref name="rounds"/> measured ones (with
    /// <paramref name="reset"/> before each turn), prints the figures and cleans up.
    /// </summary>
    private static async Task<int> RunAsync(string title, int rounds, Action setup, Action cleanup, Action? reset, (string Name, Func<Task<int>> Run)[] variants)
    {
        setup();
        try
        {
            await MeasureAsync(title, rounds, reset, variants);
            return 0;
        }
        finally
        {
            cleanup();
        }
    }

    private static async Task MeasureAsync(string title, int rounds, Action? reset, (string Name, Func<Task<int>> Run)[] variants)
    {
        var wall = variants.Select(_ => new List<double>()).ToArray();
        var cpu = variants.Select(_ => new List<double>()).ToArray();
        var gen1 = new int[variants.Length];
        var pause = variants.Select(_ => new List<double>()).ToArray();
        for (var round = -2; round < rounds; round++)
        {
            for (var v = 0; v < variants.Length; v++)
            {
                reset?.Invoke();
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var gen1Before = GC.CollectionCount(1);
                var pauseBefore = GC.GetTotalPauseDuration();
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var started = Stopwatch.GetTimestamp();
                await variants[v].Run();
                var elapsed = Stopwatch.GetElapsedTime(started);
                var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
                if (round >= 0)
                {
                    // The first two rounds warm up the JIT and the caches.
                    wall[v].Add(elapsed.TotalMilliseconds);
                    cpu[v].Add(cpuUsed.TotalMilliseconds);
                    gen1[v] += GC.CollectionCount(1) - gen1Before;
                    pause[v].Add((GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds);
                }
            }
        }
        Console.WriteLine($"{title}, {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}");
        for (var v = 0; v < variants.Length; v++)
        {
            var ratios = Enumerable.Range(0, rounds).Select(r => wall[0][r] / wall[v][r]).ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{variants[v].Name,-32}: wall median {Median(wall[v]),8:0.0} ms, CPU median {Median(cpu[v]),8:0.0} ms, gen1+ GCs per run {(double)gen1[v] / rounds:0.0}, GC pause median {Median(pause[v]):0.0} ms, throughput ratio to raw (median of rounds) {Median(ratios):0.00}"));
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
