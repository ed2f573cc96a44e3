namespace Milvus.Domain.FlowGraph;

/// <summary>A message that flows through a graph; it belongs to one time tick (seed A.4.2).</summary>
public interface IMsg
{
    /// <summary>The time tick the message belongs to.</summary>
    ulong TimeTick { get; }
}

/// <summary>A node of a time-ticked flow graph (seed A.4.3).</summary>
public interface INode
{
    /// <summary>The node's name, unique within its graph.</summary>
    string Name { get; }

    /// <summary>How many messages may wait on each of the node's input edges; a full edge blocks upstream.</summary>
    int MaxQueueLength { get; }

    /// <summary>How many <see cref="OperateAsync"/> calls may run at once; outputs are emitted in input order.</summary>
    int MaxParallelism { get; }

    /// <summary>Whether the node is a source with no input edges.</summary>
    bool IsInputNode { get; }

    /// <summary>
    /// Processes one step. <paramref name="inputs"/> has one entry per input edge, in edge order: that edge's
    /// message at this step's time tick, or null when the edge has nothing at this tick. The result has one
    /// entry per output edge (null sends nothing on that edge), or a single entry sent on every output edge,
    /// or is empty. An input node is called with no inputs and returns an empty list when its source ends.
    /// </summary>
    ValueTask<IReadOnlyList<IMsg?>> OperateAsync(IReadOnlyList<IMsg?> inputs, CancellationToken cancellationToken);

    /// <summary>Releases the node's resources; called once when the graph closes.</summary>
    void Close();
}

/// <summary>Defaults for nodes (seed A.4.3's BaseNode).</summary>
public abstract class BaseNode : INode
{
    /// <summary>The default input queue length.</summary>
    public const int DefaultMaxQueueLength = 1024;

    public abstract string Name { get; }

    public virtual int MaxQueueLength => DefaultMaxQueueLength;

    public virtual int MaxParallelism => 1;

    public virtual bool IsInputNode => false;

    public abstract ValueTask<IReadOnlyList<IMsg?>> OperateAsync(IReadOnlyList<IMsg?> inputs, CancellationToken cancellationToken);

    public virtual void Close()
    {
    }
}
