using System.Threading.Channels;

namespace Milvus.Domain.FlowGraph;

/// <summary>
/// Runs one node (seed A.4.4): collects one time-tick-aligned step from its input edges, calls Operate, and
/// sends the results down its output edges. Edges are bounded channels, so a full downstream queue blocks this
/// node: that is the graph's backpressure.
/// </summary>
internal sealed class NodeCtx
{
    private readonly List<Channel<IMsg>> _inputs = [];
    private readonly List<(NodeCtx Target, int InputIndex)> _downstream = [];
    private int _numActiveTasks;
    private long _numCompletedTasks;
    private ulong _lastTick;

    internal NodeCtx(INode node)
    {
        Node = node;
    }

    /// <summary>The node this context runs.</summary>
    public INode Node { get; }

    /// <summary>Operate calls running now.</summary>
    public int NumActiveTasks => Volatile.Read(ref _numActiveTasks);

    /// <summary>Operate calls finished.</summary>
    public long NumCompletedTasks => Interlocked.Read(ref _numCompletedTasks);

    /// <summary>The latest time tick this node has emitted.</summary>
    public ulong LastTick => Interlocked.Read(ref _lastTick);

    /// <summary>Raised with the tick of each message an input node emits.</summary>
    internal Action<ulong>? Emitted { get; set; }

    /// <summary>Adds an input edge and returns its index.</summary>
    internal int AddInput()
    {
        _inputs.Add(Channel.CreateBounded<IMsg>(new BoundedChannelOptions(Math.Max(1, Node.MaxQueueLength))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        }));
        return _inputs.Count - 1;
    }

    internal void AddDownstream(NodeCtx target, int inputIndex) => _downstream.Add((target, inputIndex));

    /// <summary>Runs the node until its inputs end or <paramref name="cancellationToken"/> fires.</summary>
    internal async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (Node.MaxParallelism <= 1 || Node.IsInputNode)
            {
                while (await NextStepAsync(cancellationToken).ConfigureAwait(false) is { } step)
                {
                    var outputs = await OperateAsync(step, cancellationToken).ConfigureAwait(false);
                    if (Node.IsInputNode && outputs.Count == 0)
                    {
                        break;
                    }
                    await EmitAsync(outputs, cancellationToken).ConfigureAwait(false);
                }
            }
            else
            {
                await RunOrderedParallelAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var (target, index) in _downstream)
            {
                target._inputs[index].Writer.TryComplete();
            }
        }
    }

    private async Task RunOrderedParallelAsync(CancellationToken cancellationToken)
    {
        // At most MaxParallelism steps are in flight; the emitter awaits them in the order they were read.
        var inFlight = Channel.CreateBounded<Task<IReadOnlyList<IMsg?>>>(new BoundedChannelOptions(Node.MaxParallelism)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var emitter = Task.Run(async () =>
        {
            try
            {
                await foreach (var pending in inFlight.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
                {
                    await EmitAsync(await pending.ConfigureAwait(false), stop.Token).ConfigureAwait(false);
                }
            }
            catch
            {
                // Unblock the reading side, which may be waiting for room in the in-flight queue.
                await stop.CancelAsync().ConfigureAwait(false);
                throw;
            }
        }, CancellationToken.None);
        try
        {
            while (await NextStepAsync(stop.Token).ConfigureAwait(false) is { } step)
            {
                await inFlight.Writer.WriteAsync(Task.Run(() => OperateAsync(step, stop.Token), stop.Token), stop.Token).ConfigureAwait(false);
            }
            inFlight.Writer.TryComplete();
            await emitter.ConfigureAwait(false);
        }
        catch
        {
            inFlight.Writer.TryComplete();
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAny(emitter).ConfigureAwait(false);
            if (emitter.IsFaulted)
            {
                // The emitter's error is the cause; the reading side only saw the cancellation it triggered.
                await emitter.ConfigureAwait(false);
            }
            throw;
        }
    }

    private async Task<IReadOnlyList<IMsg?>> OperateAsync(IReadOnlyList<IMsg?> step, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _numActiveTasks);
        try
        {
            return await Node.OperateAsync(step, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _numActiveTasks);
            Interlocked.Increment(ref _numCompletedTasks);
        }
    }

    /// <summary>
    /// The next aligned step: waits until every open input has a message, takes the smallest tick T among them,
    /// and consumes the inputs whose head is at T (the others get null). Null when every input has ended.
    /// An input node's step is empty.
    /// </summary>
    private async ValueTask<IReadOnlyList<IMsg?>?> NextStepAsync(CancellationToken cancellationToken)
    {
        if (Node.IsInputNode)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return [];
        }
        var heads = new IMsg?[_inputs.Count];
        var any = false;
        for (var i = 0; i < _inputs.Count; i++)
        {
            var reader = _inputs[i].Reader;
            if (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) && reader.TryPeek(out var head))
            {
                heads[i] = head;
                any = true;
            }
        }
        if (!any)
        {
            return null;
        }
        var tick = heads.Where(h => h is not null).Min(h => h!.TimeTick);
        var step = new IMsg?[_inputs.Count];
        for (var i = 0; i < heads.Length; i++)
        {
            if (heads[i] is { } head && head.TimeTick == tick && _inputs[i].Reader.TryRead(out var msg))
            {
                step[i] = msg;
            }
        }
        return step;
    }

    private async ValueTask EmitAsync(IReadOnlyList<IMsg?> outputs, CancellationToken cancellationToken)
    {
        if (outputs.Count == 0)
        {
            return;
        }
        if (_downstream.Count > 0 && outputs.Count != 1 && outputs.Count != _downstream.Count)
        {
            throw new InvalidOperationException($"Node '{Node.Name}' returned {outputs.Count} messages for {_downstream.Count} output edges.");
        }
        for (var edge = 0; edge < _downstream.Count; edge++)
        {
            var msg = outputs.Count == 1 ? outputs[0] : outputs[edge];
            if (msg is null)
            {
                continue;
            }
            var (target, index) = _downstream[edge];
            await target._inputs[index].Writer.WriteAsync(msg, cancellationToken).ConfigureAwait(false);
        }
        foreach (var msg in outputs)
        {
            if (msg is not null)
            {
                UpdateLastTick(msg.TimeTick);
                if (Node.IsInputNode)
                {
                    Emitted?.Invoke(msg.TimeTick);
                }
            }
        }
    }

    private void UpdateLastTick(ulong tick)
    {
        var current = Interlocked.Read(ref _lastTick);
        while (tick > current)
        {
            var seen = Interlocked.CompareExchange(ref _lastTick, tick, current);
            if (seen == current)
            {
                return;
            }
            current = seen;
        }
    }
}
