using Milvus.Domain.Archive;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream.Gateway;

namespace Milvus.Workers.Mq;

/// <summary>What the retention passes of the shared queues (Redis, NATS) keep besides the groups' positions.</summary>
internal static class MqResumePoints
{
    /// <summary>
    /// Per channel, the lowest msg id that a consume subscription or an archiver resumes at after a restart. Their
    /// streams read ahead, so their consumer groups are past it, and what lies between must stay.
    /// </summary>
    public static async Task<Dictionary<string, long>> LoadAsync(ITxnKv meta, SegmentCatalog archive, ArchiveOptions archiving, IMqClient mq, CancellationToken cancellationToken)
    {
        var floors = new Dictionary<string, long>(StringComparer.Ordinal);
        void Keep(string channel, long msgId) => floors[channel] = Math.Min(msgId, floors.GetValueOrDefault(channel, long.MaxValue));
        var kept = await meta.LoadWithPrefixAsync(SubscriptionCheckpoint.KeyPrefix, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < kept.Count; i++)
        {
            SubscriptionCheckpoint checkpoint;
            try
            {
                checkpoint = SubscriptionCheckpoint.Parse(kept.Keys[i][SubscriptionCheckpoint.KeyPrefix.Length..], kept.Values[i]);
            }
            catch (SubscriptionCheckpointUnreadableException)
            {
                continue; // Its channels are unknown; the subscription answers 409 until it is deleted.
            }
            foreach (var point in checkpoint.Points)
            {
                // 0 is the channel's earliest msg: nothing of that channel may go yet.
                Keep(point.ChannelName, point.MsgId == 0 ? 0 : point.After ? point.MsgId + 1 : point.MsgId);
            }
        }
        if (archiving.Enabled)
        {
            foreach (var channel in await mq.ListChannelsAsync(cancellationToken).ConfigureAwait(false))
            {
                var checkpoint = await archive.LoadCheckpointAsync(channel, cancellationToken).ConfigureAwait(false);
                Keep(channel, checkpoint?.Position.MsgId ?? 0);
            }
        }
        return floors;
    }
}
