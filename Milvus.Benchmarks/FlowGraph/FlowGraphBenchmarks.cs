using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Milvus.Domain.FlowGraph;

namespace Milvus.Benchmarks.FlowGraph;

/// <summary>
/// The per-message cost of a three-node graph (input → square → plus 2 → sink), next to the same arithmetic
/// in a plain loop as the baseline. Divide by <see cref="Messages"/> for ns per message.
/// </summary>
[MemoryDiagnoser]
public class FlowGraphBenchmarks
{
    [Params(100_000)]
    public int Messages { get; set; }

    [Benchmark(Baseline = true)]
    public long PlainLoop()
    {
        long sum = 0;
        for (long a = 1; a <= Messages; a++)
        {
            sum += a * a + 2;
        }
        return sum;
    }

    [Benchmark]
    public async Task<long> ThreeNodeGraph()
    {
        var source = Channel.CreateBounded<long>(1024);
        var sink = new SumNode();
        await using var graph = new TimeTickedFlowGraph();
        graph.AddNode(new InputNode<long>("input", source.Reader, v => new Num((ulong)v, v)));
        graph.AddNode(new MapNode("square", n => n * n));
        graph.AddNode(new MapNode("plus2", n => n + 2));
        graph.AddNode(sink);
        graph.SetEdges("input", [], ["square"]);
        graph.SetEdges("square", ["input"], ["plus2"]);
        graph.SetEdges("plus2", ["square"], ["sink"]);
        graph.SetEdges("sink", ["plus2"], []);
        graph.Start();
        for (long a = 1; a <= Messages; a++)
        {
            await source.Writer.WriteAsync(a);
        }
        source.Writer.Complete();
        await graph.Completion;
        return sink.Sum;
    }

    private sealed record Num(ulong TimeTick, long Value) : IMsg;

    private sealed class MapNode(string name, Func<long, long> map) : BaseNode
    {
        public override string Name => name;

        public override ValueTask<IReadOnlyList<IMsg?>> OperateAsync(IReadOnlyList<IMsg?> inputs, CancellationToken cancellationToken)
        {
            var num = (Num)inputs[0]!;
            return ValueTask.FromResult<IReadOnlyList<IMsg?>>([num with { Value = map(num.Value) }]);
        }
    }

    private sealed class SumNode : BaseNode
    {
        public long Sum { get; private set; }

        public override string Name => "sink";

        public override ValueTask<IReadOnlyList<IMsg?>> OperateAsync(IReadOnlyList<IMsg?> inputs, CancellationToken cancellationToken)
        {
            Sum += ((Num)inputs[0]!).Value;
            return ValueTask.FromResult<IReadOnlyList<IMsg?>>([]);
        }
    }
}
