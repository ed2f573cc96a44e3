using Microsoft.Extensions.Options;
using Milvus.Domain.Components;
using Milvus.Domain.MsgStream;

namespace Milvus.Domain.Channels;

/// <summary>
/// The names of the <see cref="GatewayChannel"/>s: the time tick channel and the statistics channel. Their contents
/// are the gateway's own bookkeeping, so they are not archived.
/// </summary>
public sealed class GatewayChannelNames(IOptions<TimeTickOptions> timeTick, IOptions<StatisticsOptions> statistics)
{
    /// <summary>Whether <paramref name="channel"/> is one of the gateway's own channels.</summary>
    public bool Contains(string channel) => channel == timeTick.Value.Channel || channel == statistics.Value.Channel;
}
