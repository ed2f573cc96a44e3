using System.Threading.Channels;
using Milvus.Domain.FlowGraph;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Streams;

namespace Milvus.Domain.Archive;

/// <summary>
/// The archiving graph of one channel: a time-ticked stream (subscription <see cref="ArchiveOptions.SubscriptionName"/>)
/// feeds an input node, then <see cref="SegmentBufferNode"/>, then <see cref="SegmentWriterNode"/>. It starts from
/// the channel's checkpoint (or from the earliest retained msg when there is none), so msgs buffered but not yet
/// recorded when it stops or crashes are read again by the next graph.
/// </summary>
public sealed class ArchiveChannelGraph : IAsyncDisposable
{
    /// <summary>The input node's name.</summary>
    public const string InputNodeName = "input";

    private const int PackQueueLength = 64;
    private const int SegmentQueueLength = 2;

    private readonly IMsgStream _stream;
    private readonly TimeTickedFlowGraph _graph;
    private readonly SegmentWriterNode _writer;

    private ArchiveChannelGraph(string channel, IMsgStream stream, TimeTickedFlowGraph graph, SegmentWriterNode writer)
    {
        Channel = channel;
        _stream = stream;
        _graph = graph;
        _writer = writer;
    }

    /// <summary>The channel this graph archives.</summary>
    public string Channel { get; }

    /// <summary>Ends when the stream ends, or faults with the error that stopped the graph.</summary>
    public Task Completion => _graph.Completion;

    /// <summary>The tick of the latest pack the input node has read (0 before any).</summary>
    public ulong LastInputTick => _graph.GetStates().LastTick.GetValueOrDefault(InputNodeName);

    /// <summary>Segments this graph has recorded.</summary>
    public long SegmentsWritten => _writer.SegmentsWritten;

    /// <summary>The counters of every node.</summary>
    public FlowGraphStates GetStates() => _graph.GetStates();

    /// <summary>Subscribes to <paramref name="channel"/>, positions the subscription, and starts the graph.</summary>
    public static async Task<ArchiveChannelGraph> StartAsync(
        string channel,
        MsgStreamFactory streams,
        IMqClient mq,
        SegmentCatalog catalog,
        ArchiveOptions options,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        var checkpoint = await catalog.LoadCheckpointAsync(channel, cancellationToken).ConfigureAwait(false);
        var stream = streams.NewTtMsgStream();
        try
        {
            var subName = options.SubscriptionName;
            await stream.AsConsumerAsync([channel], subName, MqStartPosition.Earliest, cancellationToken).ConfigureAwait(false);
            if (checkpoint is not null)
            {
                await stream.SeekAsync([checkpoint.Position with { MsgGroup = subName }], cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // The group may have read ahead of a segment that was never recorded: nothing is archived yet, so start over.
                await mq.SeekToAsync(channel, subName, MqStartPosition.Earliest, cancellationToken).ConfigureAwait(false);
            }
            stream.Start();
            var (graph, writer) = BuildGraph(channel, stream.Chan(), catalog, checkpoint, options, time);
            graph.Start();
            return new ArchiveChannelGraph(channel, stream, graph, writer);
        }
        catch
        {
            await stream.CloseAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The three nodes over <paramref name="packs"/>, wired and not started: input → <see cref="SegmentBufferNode"/>
    /// → <see cref="SegmentWriterNode"/>, which continues from <paramref name="checkpoint"/>.
    /// </summary>
    public static (TimeTickedFlowGraph Graph, SegmentWriterNode Writer) BuildGraph(
        string channel,
        ChannelReader<MsgPack> packs,
        SegmentCatalog catalog,
        ArchiveCheckpoint? checkpoint,
        ArchiveOptions options,
        TimeProvider time)
    {
        var writer = new SegmentWriterNode(channel, catalog, checkpoint, SegmentQueueLength);
        var graph = new TimeTickedFlowGraph();
        graph.AddNode(new InputNode<MsgPack>(InputNodeName, packs, pack => new PackMsg(pack), PackQueueLength));
        graph.AddNode(new SegmentBufferNode(options, time, PackQueueLength));
        graph.AddNode(writer);
        graph.SetEdges(InputNodeName, [], [SegmentBufferNode.NodeName]);
        graph.SetEdges(SegmentBufferNode.NodeName, [InputNodeName], [SegmentWriterNode.NodeName]);
        graph.SetEdges(SegmentWriterNode.NodeName, [SegmentBufferNode.NodeName], []);
        return (graph, writer);
    }

    /// <summary>Stops the graph and the stream; buffered msgs that no segment recorded are read again next time.</summary>
    public async ValueTask DisposeAsync()
    {
        await _graph.CloseAsync().ConfigureAwait(false);
        await _stream.CloseAsync().ConfigureAwait(false);
    }
}
