namespace Milvus.Domain.FlowGraph;

/// <summary>
/// A DAG of nodes joined by bounded queues (seed A.4.4). Input nodes feed it; every other node runs on
/// time-tick-aligned steps of its inputs. <see cref="Completion"/> ends when every input has ended and the
/// graph has drained, or faults with the first node's error (which stops the whole graph).
/// </summary>
public sealed class TimeTickedFlowGraph : IAsyncDisposable
{
    private readonly Dictionary<string, NodeCtx> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string[] In, string[] Out)> _edges = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Task? _completion;
    private bool _closed;
    private ulong _startTick;

    /// <summary>Ends when the graph has drained after its inputs ended, or faults with a node's error.</summary>
    public Task Completion => _completion ?? throw new InvalidOperationException("The graph has not started.");

    /// <summary>Adds a node; names are unique.</summary>
    public void AddNode(INode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        lock (_gate)
        {
            EnsureNotStarted();
            if (!_nodes.TryAdd(node.Name, new NodeCtx(node)))
            {
                throw new ArgumentException($"The graph already has a node named '{node.Name}'.", nameof(node));
            }
        }
    }

    /// <summary>Declares a node's input and output edges, by node name, in edge order.</summary>
    public void SetEdges(string nodeName, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs)
    {
        lock (_gate)
        {
            EnsureNotStarted();
            if (!_nodes.ContainsKey(nodeName))
            {
                throw new ArgumentException($"The graph has no node named '{nodeName}'.", nameof(nodeName));
            }
            _edges[nodeName] = ([.. inputs], [.. outputs]);
        }
    }

    /// <summary>Checks the edges and starts every node.</summary>
    /// <exception cref="InvalidOperationException">The edges are inconsistent or form a cycle.</exception>
    public void Start()
    {
        lock (_gate)
        {
            EnsureNotStarted();
            Wire();
            var tasks = _nodes.Values.Select(ctx => Task.Run(() => RunNodeAsync(ctx), CancellationToken.None)).ToArray();
            _completion = Task.WhenAll(tasks);
        }
    }

    /// <summary>A snapshot of every node's counters.</summary>
    public FlowGraphStates GetStates()
    {
        lock (_gate)
        {
            return new FlowGraphStates(
                Interlocked.Read(ref _startTick),
                _nodes.ToDictionary(p => p.Key, p => p.Value.NumActiveTasks, StringComparer.Ordinal),
                _nodes.ToDictionary(p => p.Key, p => p.Value.NumCompletedTasks, StringComparer.Ordinal),
                _nodes.ToDictionary(p => p.Key, p => p.Value.LastTick, StringComparer.Ordinal));
        }
    }

    /// <summary>
    /// Stops every node, waits for all of them, and closes them. Messages still queued are dropped, not
    /// half-processed. A node's error that stopped the graph stays on <see cref="Completion"/>.
    /// </summary>
    public async Task CloseAsync()
    {
        Task? completion;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
            completion = _completion;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            if (completion is not null)
            {
                // Wait for every node without rethrowing: cancellation is the normal way out, and an error is
                // reported through Completion.
                await Task.WhenAny(completion).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var ctx in _nodes.Values)
            {
                ctx.Node.Close();
            }
            _stop.Dispose();
        }
    }

    public async ValueTask DisposeAsync() => await CloseAsync().ConfigureAwait(false);

    private async Task RunNodeAsync(NodeCtx ctx)
    {
        try
        {
            await ctx.RunAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // One failing node stops the graph; Completion carries its error.
            await _stop.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    private void Wire()
    {
        foreach (var (name, ctx) in _nodes)
        {
            var (inputs, outputs) = _edges.GetValueOrDefault(name, ([], []));
            if (ctx.Node.IsInputNode && inputs.Length > 0)
            {
                throw new InvalidOperationException($"Input node '{name}' cannot have input edges.");
            }
            if (!ctx.Node.IsInputNode && inputs.Length == 0)
            {
                throw new InvalidOperationException($"Node '{name}' has no input edge and is not an input node.");
            }
            foreach (var target in outputs)
            {
                if (!_nodes.ContainsKey(target) || !_edges.GetValueOrDefault(target, ([], [])).In.Contains(name))
                {
                    throw new InvalidOperationException($"Edge {name} → {target} is not declared as an input of '{target}'.");
                }
            }
            foreach (var source in inputs)
            {
                if (!_nodes.ContainsKey(source) || !_edges.GetValueOrDefault(source, ([], [])).Out.Contains(name))
                {
                    throw new InvalidOperationException($"Edge {source} → {name} is not declared as an output of '{source}'.");
                }
            }
        }
        EnsureAcyclic();

        // Create each node's input queues in its declared order, then connect the upstream outputs in theirs.
        var inputIndex = new Dictionary<(string From, string To), int>();
        foreach (var (name, ctx) in _nodes)
        {
            foreach (var source in _edges.GetValueOrDefault(name, ([], [])).In)
            {
                inputIndex[(source, name)] = ctx.AddInput();
            }
        }
        foreach (var (name, ctx) in _nodes)
        {
            foreach (var target in _edges.GetValueOrDefault(name, ([], [])).Out)
            {
                ctx.AddDownstream(_nodes[target], inputIndex[(name, target)]);
            }
            if (ctx.Node.IsInputNode)
            {
                ctx.Emitted = tick => Interlocked.CompareExchange(ref _startTick, tick, 0);
            }
        }
    }

    private void EnsureAcyclic()
    {
        var indegree = _nodes.Keys.ToDictionary(n => n, n => _edges.GetValueOrDefault(n, ([], [])).In.Length, StringComparer.Ordinal);
        var ready = new Queue<string>(indegree.Where(p => p.Value == 0).Select(p => p.Key));
        var visited = 0;
        while (ready.TryDequeue(out var name))
        {
            visited++;
            foreach (var target in _edges.GetValueOrDefault(name, ([], [])).Out)
            {
                if (--indegree[target] == 0)
                {
                    ready.Enqueue(target);
                }
            }
        }
        if (visited != _nodes.Count)
        {
            throw new InvalidOperationException("The graph's edges form a cycle; a flow graph must be a DAG.");
        }
    }

    private void EnsureNotStarted()
    {
        if (_completion is not null || _closed)
        {
            throw new InvalidOperationException("The graph has already started.");
        }
    }
}
