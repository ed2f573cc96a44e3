using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream.Streams;
using Milvus.Domain.Tso;

namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>
/// The gateway's produce path for message streams: it checks the channels, repacks once, stamps, marshals each
/// channel's msgs and writes them straight into the queue (one write per channel, in parallel), answering the
/// positions in request order. Messages without timestamps get them from the TSO, registered in
/// <see cref="InFlightTimestamps"/> from before they are assigned until the queue has them, so the gateway's time
/// tick never claims to cover a message that is still on its way. Every channel written to is recorded in
/// <see cref="TickedChannels"/>, the channels the cluster's time tick reaches.
/// </summary>
public sealed class GatewayProducer(IMqClient mq, ITimestampAllocator tso, InFlightTimestamps inFlight, TickedChannels ticked)
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
    /// <exception cref="MsgStreamException">No channel, a channel named twice, or a broadcast of nothing.</exception>
    public async Task<IReadOnlyList<MsgPosition>> ProduceAsync(IReadOnlyList<string> channels, IReadOnlyList<TsMsg> msgs, bool broadcast, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(msgs);
        var names = MsgStreamBase.CheckChannels(channels);
        if (broadcast && msgs.Count == 0)
        {
            throw MsgStreamException.Invalid("A broadcast needs at least one message.");
        }
        // A missing channel fails the call before anything is stored. One channel that this gateway has produced into
        // lately needs no look of its own: its write checks that it exists, atomically, and stores nothing when it
        // does not (a look would cost a round trip on a remote queue). Otherwise every channel is looked at, at once.
        if (names.Length > 1 || msgs.Count == 0 || !ticked.IsRecorded(names[0]))
        {
            var exist = await Task.WhenAll(names.Select(c => mq.ChannelExistsAsync(c, cancellationToken))).ConfigureAwait(false);
            for (var c = 0; c < names.Length; c++)
            {
                if (!exist[c])
                {
                    throw new MqChannelNotFoundException(names[c]);
                }
            }
        }
        if (msgs.Count == 0)
        {
            return [];
        }
        // Route first, so that a message the repack refuses fails the call before any timestamp is taken.
        var plan = broadcast ? WritePlan.Broadcast(names.Length, msgs) : WritePlan.Repack(names.Length, msgs);
        await ticked.RecordAsync(names, cancellationToken).ConfigureAwait(false);
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
                plan.Stamp(msgs, ts);
            }
            // Once stamped, the write is not cancelled by the caller: a write that went on in the queue after its
            // timestamp had left the in-flight set could land behind a time tick that covers it.
            var write = first is null ? cancellationToken : CancellationToken.None;
            var positions = new MsgPosition[plan.Count];
            var writes = new List<Task>(names.Length);
            for (var c = 0; c < names.Length; c++)
            {
                if (plan.Parts[c].Count > 0)
                {
                    writes.Add(WriteAsync(names[c], plan.Parts[c], positions, write));
                }
            }
            await Task.WhenAll(writes).ConfigureAwait(false);
            return positions;
        }
        finally
        {
            if (first is { } ts)
            {
                inFlight.End(ts);
            }
        }
    }

    /// <summary>Writes one channel's msgs in one queue call and puts each position into its slot of the answer.</summary>
    private async Task WriteAsync(string channel, List<(TsMsg Msg, int Slot)> parts, MsgPosition[] positions, CancellationToken cancellationToken)
    {
        var payloads = new ReadOnlyMemory<byte>[parts.Count];
        for (var i = 0; i < payloads.Length; i++)
        {
            payloads[i] = parts[i].Msg.Marshal();
        }
        var ids = await mq.ProduceAsync(channel, payloads, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < ids.Count; i++)
        {
            positions[parts[i].Slot] = new MsgPosition(channel, ids[i], "", parts[i].Msg.EndTs);
        }
    }

    /// <summary>
    /// Which msg (or part of a split msg) goes into which channel, and where its position goes in the answer: for a
    /// repack, each msg's parts in channel order, msgs in request order; for a broadcast, channel by channel.
    /// </summary>
    private sealed class WritePlan
    {
        private WritePlan(int channels) => Parts = [.. Enumerable.Range(0, channels).Select(_ => new List<(TsMsg, int)>())];

        /// <summary>Per channel index, the msgs to write with their slots in the answer.</summary>
        public List<(TsMsg Msg, int Slot)>[] Parts { get; }

        /// <summary>How many positions the answer holds.</summary>
        public int Count { get; private set; }

        /// <summary>The split parts of each msg, by the msg's index, for stamping.</summary>
        private Dictionary<int, List<TsMsg>>? SplitParts { get; set; }

        public static WritePlan Broadcast(int channels, IReadOnlyList<TsMsg> msgs)
        {
            var plan = new WritePlan(channels);
            foreach (var parts in plan.Parts)
            {
                foreach (var msg in msgs)
                {
                    parts.Add((msg, plan.Count++));
                }
            }
            return plan;
        }

        public static WritePlan Repack(int channels, IReadOnlyList<TsMsg> msgs)
        {
            var plan = new WritePlan(channels);
            var indices = RepackFuncs.ChannelIndices(msgs, channels);
            for (var i = 0; i < msgs.Count; i++)
            {
                // One msg at a time, so that each part is known to come from msg i; the packs come in channel order.
                foreach (var (channel, pack) in RepackFuncs.Default([msgs[i]], [indices[i]]))
                {
                    foreach (var part in pack.Msgs)
                    {
                        plan.Parts[channel].Add((part, plan.Count++));
                        if (!ReferenceEquals(part, msgs[i]))
                        {
                            plan.SplitParts ??= [];
                            (plan.SplitParts.TryGetValue(i, out var split) ? split : plan.SplitParts[i] = []).Add(part);
                        }
                    }
                }
            }
            return plan;
        }

        /// <summary>Gives each msg without timestamps the next of the allocated ones, with the parts it was split into.</summary>
        public void Stamp(IReadOnlyList<TsMsg> msgs, ulong first)
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
                if (SplitParts?.GetValueOrDefault(i) is { } parts)
                {
                    foreach (var part in parts)
                    {
                        part.BeginTs = part.EndTs = ts;
                    }
                }
            }
        }
    }
}
