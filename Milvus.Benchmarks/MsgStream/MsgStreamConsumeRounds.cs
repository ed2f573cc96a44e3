using System.Diagnostics;
using System.Globalization;

namespace Milvus.Benchmarks.MsgStream;

/// <summary>
/// The consume comparison of <see cref="MsgStreamConsumeBenchmarks"/> in interleaved rounds, for a shared machine:
/// each round runs the raw consume, the raw consume + unmarshal and both streams once, one after the other, so
/// they see the same background load; it prints each one's median wall time and process CPU time, and the
/// median of the per-round throughput ratios to the raw consume.
/// Usage: <c>dotnet run -c Release --project Milvus.Benchmarks -- msgstream-consume [rounds]</c>.
/// </summary>
public static class MsgStreamConsumeRounds
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 15;
        var bufferSize = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 64;
        var readBatchSize = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : MsgStreamBench.PerTick;
        var bench = new MsgStreamConsumeBenchmarks { BufferSize = bufferSize, ReadBatchSize = readBatchSize };
        bench.Setup();
        try
        {
            (string Name, Func<Task<int>> Run)[] variants =
            [
                ("raw IMqClient consume n=1000", bench.RawConsume),
                ("raw consume n=1000 + unmarshal", bench.RawConsumeAndUnmarshal),
                ("MsgStream consume", bench.StreamConsume),
                ("TtMsgStream consume", bench.TtStreamConsume),
            ];
            var wall = variants.Select(_ => new List<double>()).ToArray();
            var cpu = variants.Select(_ => new List<double>()).ToArray();
            var gen1 = new int[variants.Length];
            for (var round = -2; round < rounds; round++)
            {
                for (var v = 0; v < variants.Length; v++)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    var gen1Before = GC.CollectionCount(1);
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
                    }
                }
            }
            Console.WriteLine($"MsgStream consume, {rounds} interleaved rounds, stream buffer {bufferSize} packs, stream reads of {readBatchSize}, {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}");
            for (var v = 0; v < variants.Length; v++)
            {
                var ratios = Enumerable.Range(0, rounds).Select(r => wall[0][r] / wall[v][r]).ToList();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{variants[v].Name,-32}: wall median {Median(wall[v]),8:0.0} ms, CPU median {Median(cpu[v]),8:0.0} ms, gen1+ GCs per run {(double)gen1[v] / rounds:0.0}, throughput ratio to raw (median of rounds) {Median(ratios):0.00}"));
            }
            return 0;
        }
        finally
        {
            bench.Cleanup();
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
