using System.Threading.Channels;

namespace Milvus.Domain.FlowGraph;

/// <summary>
/// A source node that feeds the graph from a channel reader, e.g. a time-ticked stream's <c>Chan()</c> mapped
/// to messages. The graph ends its input when the reader completes.
/// </summary>
public sealed class InputNode<T>(string name, ChannelReader<T> source, Func<T, IMsg> toMsg, int maxQueueLength = BaseNode.DefaultMaxQueueLength) : BaseNode
{
    public override string Name => name;

    public override bool IsInputNode => true;

    public override int MaxQueueLength => maxQueueLength;

    public override async ValueTask<IReadOnlyList<IMsg?>> OperateAsync(IReadOnlyList<IMsg?> inputs, CancellationToken cancellationToken)
    {
        if (!await source.WaitToReadAsync(cancellationToken).ConfigureAwait(false) || !source.TryRead(out var item))
        {
            return [];
        }
        return [toMsg(item)];
    }
}
