using Milvus.Domain.Allocation;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream.Streams;

namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>
/// The gateway's produce path for message streams. Messages without timestamps get them from the TSO, registered
/// in <see cref="InFlightTimestamps"/> from before they are assigned until the queue has them, so the gateway's
/// time tick never claims to cover a message that is still on its way. Every channel written to is recorded in
/// <see cref="TickedChannels"/>, the channels the cluster's time tick reaches.
/// </summary>
public sealed class GatewayProducer(MsgStreamFactory factory, IMqClient mq, ITimestampAllocator tso, InFlightTimestamps inFlight, TickedChannels ticked)
{
    /// <summary>The timestamps assigned and not yet written.</summary>
    public InFlightTimestamps InFlight => inFlight;

    /// <summary>The channels that get time ticks.</summary>
    public TickedChannels Ticked => ticked;

    /// <summary>
    /// Writes <paramref name="msgs"/> into existing <paramref name="channels"/>: repacked by the default repack
    /// (positions answered in the order of <paramref name="msgs"/>, a split message's parts in channel order), or,
    /// with <paramref name="broadcast"/>, every message into every channel (positions channel by channel). A message
    /// whose EndTs is 0 gets a fresh TSO timestamp as both BeginTs and EndTs.
    /// </summary>
    /// <exception cref="MqChannelNotFoundException">A channel does not exist; nothing was written.</exception>
    /// <exception cref="ArgumentException">The default repack cannot route a message.</exception>
    public async Task<IReadOnlyList<MsgPosition>> ProduceAsync(IReadOnlyList<string> channels, IReadOnlyList<TsMsg> msgs, bool broadcast, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channels);
        ArgumentNullException.ThrowIfNull(msgs);
        foreach (var channel in channels)
        {
            if (!await mq.ChannelExistsAsync(channel, cancellationToken).ConfigureAwait(false))
            {
                throw new MqChannelNotFoundException(channel);
            }
        }
        var origins = new Dictionary<TsMsg, int>(ReferenceEqualityComparer.Instance);
        var repacked = new List<IReadOnlyDictionary<int, MsgPack>>();
        if (!broadcast)
        {
            // Route first, so that a message the repack refuses fails the call before any timestamp is taken.
            var indices = RepackFuncs.ChannelIndices(msgs, channels.Count);
            for (var i = 0; i < msgs.Count; i++)
            {
                var parts = RepackFuncs.Default([msgs[i]], [indices[i]]);
                foreach (var part in parts.Values.SelectMany(p => p.Msgs))
                {
                    origins[part] = i;
                }
                repacked.Add(parts);
            }
        }
        await ticked.RecordAsync(channels, cancellationToken).ConfigureAwait(false);
        var untimed = msgs.Count(m => !m.HasTimestamps);
        ulong? first = null;
        if (untimed > 0)
        {
            first = await inFlight.BeginAsync(async ct => (await tso.AllocAsync((uint)untimed, ct).ConfigureAwait(false)).Value, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            if (first is { } ts)
            {
                Stamp(msgs, ts, repacked);
            }
            // Once stamped, the write is not cancelled by the caller: a write that went on in the queue after its
            // timestamp had left the in-flight set could land behind a time tick that covers it.
            var write = first is null ? cancellationToken : CancellationToken.None;
            await using var stream = factory.NewMsgStream();
            await stream.AsProducerAsync(channels, write).ConfigureAwait(false);
            if (broadcast)
            {
                return await stream.BroadcastAsync(MsgPack.Of(msgs), write).ConfigureAwait(false);
            }
            var merged = Merge(repacked);
            stream.SetRepackFunc((_, _) => merged);
            var positions = await stream.ProduceAsync(MsgPack.Of(msgs), write).ConfigureAwait(false);
            var written = merged.OrderBy(p => p.Key).SelectMany(p => p.Value.Msgs).ToArray();
            return [.. written.Zip(positions).Select((w, order) => (w.Second, Origin: origins[w.First], order))
                .OrderBy(w => w.Origin).ThenBy(w => w.order).Select(w => w.Second)];
        }
        finally
        {
            if (first is { } ts)
            {
                inFlight.End(ts);
            }
        }
    }

    /// <summary>Gives each message without timestamps the next of the allocated ones, parts of a split message included.</summary>
    private static void Stamp(IReadOnlyList<TsMsg> msgs, ulong first, List<IReadOnlyDictionary<int, MsgPack>> repacked)
    {
        var next = first;
        for (var i = 0; i < msgs.Count; i++)
        {
            if (msgs[i].HasTimestamps)
            {
                continue;
            }
            var ts = next++;
            msgs[i].BeginTs = msgs[i].EndTs = ts;
            if (i < repacked.Count)
            {
                foreach (var part in repacked[i].Values.SelectMany(p => p.Msgs))
                {
                    part.BeginTs = part.EndTs = ts;
                }
            }
        }
    }

    private static SortedDictionary<int, MsgPack> Merge(List<IReadOnlyDictionary<int, MsgPack>> repacked)
    {
        var merged = new SortedDictionary<int, MsgPack>();
        foreach (var (channel, pack) in repacked.SelectMany(r => r))
        {
            if (!merged.TryGetValue(channel, out var into))
            {
                merged[channel] = into = new MsgPack();
            }
            into.Msgs.AddRange(pack.Msgs);
        }
        return merged;
    }
}
