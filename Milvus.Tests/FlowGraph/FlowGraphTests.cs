using System.Collections.Concurrent;
using System.Threading.Channels;
using Milvus.Domain.FlowGraph;

namespace Milvus.Tests.FlowGraph;

public sealed class FlowGraphTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AChainOfThreeNodesComputesASquaredPlusTwoInOrder()
    {
        var source = Channel.CreateUnbounded<long>();
        var sink = new SinkNode("sink");
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

        for (var a = 1; a <= 100; a++)
        {
            await source.Writer.WriteAsync(a);
        }
        source.Writer.Complete();
        await graph.Completion.WaitAsync(Timeout);

        Assert.Equal(Enumerable.Range(1, 100).Select(a => (long)a * a + 2), sink.Values);
        var states = graph.GetStates();
        Assert.Equal(1UL, states.StartTick);
        Assert.Equal(100, states.NumCompletedTasks["square"]);
        Assert.Equal(100UL, states.LastTick["plus2"]);
    }

    [Fact]
    public async Task TwoInputsWithSkewedTicksAreAlignedAndALaggingInputBlocksTheJoin()
    {
        var left = Channel.CreateUnbounded<ulong>();
        var right = Channel.CreateUnbounded<ulong>();
        var join = new RecordingJoin("join");
        await using var graph = new TimeTickedFlowGraph();
        graph.AddNode(new InputNode<ulong>("left", left.Reader, t => new Num(t, (long)t)));
        graph.AddNode(new InputNode<ulong>("right", right.Reader, t => new Num(t, (long)t * 10)));
        graph.AddNode(join);
        graph.SetEdges("left", [], ["join"]);
        graph.SetEdges("right", [], ["join"]);
        graph.SetEdges("join", ["left", "right"], []);
        graph.Start();

        foreach (var t in new ulong[] { 1, 2, 3, 5 })
        {
            await left.Writer.WriteAsync(t);
        }
        await WaitUntil(() => graph.GetStates().LastTick["left"] == 5);
        Assert.Equal(0, graph.GetStates().NumCompletedTasks["join"]);

        foreach (var t in new ulong[] { 2, 3, 4, 5 })
        {
            await right.Writer.WriteAsync(t);
        }
        left.Writer.Complete();
        right.Writer.Complete();
        await graph.Completion.WaitAsync(Timeout);

        Assert.Equal(
            ["1:L", "2:LR", "3:LR", "4:R", "5:LR"],
            join.Steps);
    }

    [Fact]
    public async Task AFullQueueBlocksTheProducerUntilItDrains()
    {
        var source = Channel.CreateUnbounded<ulong>();
        var gate = new SemaphoreSlim(0);
        var sink = new SinkNode("sink", maxQueueLength: 2, gate: gate);
        await using var graph = new TimeTickedFlowGraph();
        graph.AddNode(new InputNode<ulong>("input", source.Reader, t => new Num(t, (long)t)));
        graph.AddNode(sink);
        graph.SetEdges("input", [], ["sink"]);
        graph.SetEdges("sink", ["input"], []);
        graph.Start();
        for (ulong t = 1; t <= 10; t++)
        {
            await source.Writer.WriteAsync(t);
        }
        source.Writer.Complete();

        // The sink holds one message and its queue two more; the input has read a fourth and waits to send it.
        await WaitUntil(() => graph.GetStates().NumCompletedTasks["input"] >= 4 && graph.GetStates().NumActiveTasks["sink"] == 1);
        Assert.Equal(6, source.Reader.Count);
        Assert.Equal(3UL, graph.GetStates().LastTick["input"]);

        gate.Release(10);
        await graph.Completion.WaitAsync(Timeout);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), sink.Values);
    }

    [Fact]
    public async Task AnOrderedParallelNodeRunsConcurrentlyButEmitsInOrder()
    {
        var source = Channel.CreateUnbounded<ulong>();
        var parallel = new GatedParallelNode("parallel", maxParallelism: 4);
        var sink = new SinkNode("sink");
        await using var graph = new TimeTickedFlowGraph();
        graph.AddNode(new InputNode<ulong>("input", source.Reader, t => new Num(t, (long)t)));
        graph.AddNode(parallel);
        graph.AddNode(sink);
        graph.SetEdges("input", [], ["parallel"]);
        graph.SetEdges("parallel", ["input"], ["sink"]);
        graph.SetEdges("sink", ["parallel"], []);
        graph.Start();
        for (ulong t = 1; t <= 4; t++)
        {
            await source.Writer.WriteAsync(t);
        }
        source.Writer.Complete();

        await WaitUntil(() => graph.GetStates().NumActiveTasks["parallel"] == 4);
        foreach (var tick in new ulong[] { 4, 3, 2 })
        {
            parallel.Release(tick);
            await WaitUntil(() => parallel.Finished.Contains(tick));
        }
        // Three later steps are done, but nothing may be emitted before the first one.
        Assert.Empty(sink.Values);
        parallel.Release(1);
        await graph.Completion.WaitAsync(Timeout);

        Assert.Equal([1L, 2L, 3L, 4L], sink.Values);
        Assert.Equal([4UL, 3UL, 2UL, 1UL], parallel.Finished);
    }

    [Fact]
    public async Task CloseWithMessagesInFlightStopsEveryNodeAndClosesThem()
    {
        var source = Channel.CreateUnbounded<ulong>();
        var gate = new SemaphoreSlim(0);
        var sink = new SinkNode("sink", maxQueueLength: 4, gate: gate);
        var graph = new TimeTickedFlowGraph();
        var input = new InputNode<ulong>("input", source.Reader, t => new Num(t, (long)t));
        graph.AddNode(input);
        graph.AddNode(sink);
        graph.SetEdges("input", [], ["sink"]);
        graph.SetEdges("sink", ["input"], []);
        graph.Start();
        for (ulong t = 1; t <= 20; t++)
        {
            await source.Writer.WriteAsync(t);
        }
        await WaitUntil(() => graph.GetStates().NumActiveTasks["sink"] == 1);

        await graph.CloseAsync().WaitAsync(Timeout);

        Assert.True(graph.Completion.IsCompleted);
        Assert.True(sink.Closed);
        Assert.Empty(sink.Values);
    }

    [Fact]
    public async Task AFailingNodeStopsTheGraphWithItsError()
    {
        var source = Channel.CreateUnbounded<ulong>();
        await using var graph = new TimeTickedFlowGraph();
        graph.AddNode(new InputNode<ulong>("input", source.Reader, t => new Num(t, (long)t)));
        graph.AddNode(new MapNode("boom", n => n == 3 ? throw new InvalidOperationException("bad row 3") : n));
        graph.AddNode(new SinkNode("sink"));
        graph.SetEdges("input", [], ["boom"]);
        graph.SetEdges("boom", ["input"], ["sink"]);
        graph.SetEdges("sink", ["boom"], []);
        graph.Start();
        for (ulong t = 1; t <= 5; t++)
        {
            await source.Writer.WriteAsync(t);
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => graph.Completion.WaitAsync(Timeout));
        Assert.Equal("bad row 3", error.Message);
    }

    [Fact]
    public void InconsistentEdgesAndCyclesAreRefusedAtStart()
    {
        var cyclic = new TimeTickedFlowGraph();
        cyclic.AddNode(new InputNode<ulong>("input", Channel.CreateUnbounded<ulong>().Reader, t => new Num(t, 0)));
        cyclic.AddNode(new MapNode("a", n => n));
        cyclic.AddNode(new MapNode("b", n => n));
        cyclic.SetEdges("input", [], ["a"]);
        cyclic.SetEdges("a", ["input", "b"], ["b"]);
        cyclic.SetEdges("b", ["a"], ["a"]);
        Assert.Contains("cycle", Assert.Throws<InvalidOperationException>(cyclic.Start).Message, StringComparison.Ordinal);

        var oneSided = new TimeTickedFlowGraph();
        oneSided.AddNode(new InputNode<ulong>("input", Channel.CreateUnbounded<ulong>().Reader, t => new Num(t, 0)));
        oneSided.AddNode(new MapNode("a", n => n));
        oneSided.SetEdges("input", [], ["a"]);
        oneSided.SetEdges("a", [], []);
        Assert.Throws<InvalidOperationException>(oneSided.Start);
        Assert.Throws<ArgumentException>(() => oneSided.AddNode(new MapNode("a", n => n)));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            await Task.Yield();
            timeout.Token.ThrowIfCancellationRequested();
            await Task.Delay(1, timeout.Token);
        }
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

    private sealed class SinkNode(string name, int maxQueueLength = BaseNode.DefaultMaxQueueLength, SemaphoreSlim? gate = null) : BaseNode
    {
        private readonly ConcurrentQueue<long> _values = new();

        public override string Name => name;

        public override int MaxQueueLength => maxQueueLength;

        public IReadOnlyList<long> Values => [.. _values];

        public bool Closed { get; private set; }

        public override async ValueTask<IReadOnlyList<IMsg?>> OperateAsync(IReadOnlyList<IMsg?> inputs, CancellationToken cancellationToken)
        {
            if (gate is not null)
            {
                await gate.WaitAsync(cancellationToken);
            }
            _values.Enqueue(((Num)inputs[0]!).Value);
            return [];
        }

        public override void Close() => Closed = true;
    }

    private sealed class RecordingJoin(string name) : BaseNode
    {
        private readonly ConcurrentQueue<string> _steps = new();

        public override string Name => name;

        public IReadOnlyList<string> Steps => [.. _steps];

        public override ValueTask<IReadOnlyList<IMsg?>> OperateAsync(IReadOnlyList<IMsg?> inputs, CancellationToken cancellationToken)
        {
            var tick = inputs.First(i => i is not null)!.TimeTick;
            Assert.All(inputs, i => Assert.True(i is null || i.TimeTick == tick));
            _steps.Enqueue($"{tick}:{(inputs[0] is null ? "" : "L")}{(inputs[1] is null ? "" : "R")}");
            return ValueTask.FromResult<IReadOnlyList<IMsg?>>([]);
        }
    }

    private sealed class GatedParallelNode(string name, int maxParallelism) : BaseNode
    {
        private readonly ConcurrentDictionary<ulong, TaskCompletionSource> _gates = new();
        private readonly ConcurrentQueue<ulong> _finished = new();

        public override string Name => name;

        public override int MaxParallelism => maxParallelism;

        public IReadOnlyList<ulong> Finished => [.. _finished];

        public void Release(ulong tick) => Gate(tick).TrySetResult();

        public override async ValueTask<IReadOnlyList<IMsg?>> OperateAsync(IReadOnlyList<IMsg?> inputs, CancellationToken cancellationToken)
        {
            var num = (Num)inputs[0]!;
            await Gate(num.TimeTick).Task.WaitAsync(cancellationToken);
            _finished.Enqueue(num.TimeTick);
            return [num];
        }

        private TaskCompletionSource Gate(ulong tick) => _gates.GetOrAdd(tick, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }
}
