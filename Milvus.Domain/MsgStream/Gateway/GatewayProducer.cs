using System.Buffers.Binary;
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
    public async Task<IReadOnlyList<MsgPosition>> ProduceAsync(IReadOnlyList<string> channels, IReadOnlyList<TsMsg> msgs, bool broadcast, CancellationToken cancellationToken = default) =>
        (await ProduceAsync(channels, msgs, broadcast, null, cancellationToken).ConfigureAwait(false)).Positions;

    /// <summary>
    /// Writes as <see cref="ProduceAsync(IReadOnlyList{string}, IReadOnlyList{TsMsg}, bool, CancellationToken)"/>
    /// does, each channel's write at most once per <paramref name="key"/> (when one is given): a channel that the key
    /// has written to answers the positions it got then (its msg ids and timestamps), and stores nothing now. So a
    /// retry of a call whose outcome was unknown completes what the first try did not reach, and repeats nothing.
    /// </summary>
    /// <exception cref="MqIdempotencyKeyReusedException">The key was used for another request on a channel.</exception>
    public async Task<GatewayProduced> ProduceAsync(
        IReadOnlyList<string> channels, IReadOnlyList<TsMsg> msgs, bool broadcast, GatewayProduceKey? key, CancellationToken cancellationToken = default)
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
            return new GatewayProduced([], Replayed: false);
        }
        // Route first, so that a message the repack refuses fails the call before any timestamp is taken.
        var plan = broadcast ? WritePlan.Broadcast(names.Length, msgs) : WritePlan.Repack(names.Length, msgs);
        if (key is not null)
        {
            await CheckKeyAsync(names, plan, key, cancellationToken).ConfigureAwait(false);
        }
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
            var writes = new List<Task<bool>>(names.Length);
            for (var c = 0; c < names.Length; c++)
            {
                if (plan.Parts[c].Count > 0)
                {
                    writes.Add(WriteAsync(names[c], plan.Parts[c], positions, key, write));
                }
            }
            var replayed = await Task.WhenAll(writes).ConfigureAwait(false);
            return new GatewayProduced(positions, Replayed: key is not null && replayed.All(r => r));
        }
        finally
        {
            if (first is { } ts)
            {
                inFlight.End(ts);
            }
        }
    }

    /// <summary>
    /// Before a keyed write into several channels: fails when a channel holds the key for another request, so that a
    /// reused key changes no channel (each channel's write checks it again, atomically).
    /// </summary>
    private async Task CheckKeyAsync(string[] names, WritePlan plan, GatewayProduceKey key, CancellationToken cancellationToken)
    {
        var written = Enumerable.Range(0, names.Length).Where(c => plan.Parts[c].Count > 0).ToList();
        if (written.Count < 2)
        {
            return;
        }
        var found = await Task.WhenAll(written.Select(c => mq.FindProduceKeyAsync(names[c], key.Key, cancellationToken))).ConfigureAwait(false);
        for (var i = 0; i < found.Length; i++)
        {
            if (found[i] is { } fingerprint && !fingerprint.Span.SequenceEqual(key.Fingerprint.Span))
            {
                throw new MqIdempotencyKeyReusedException(names[written[i]], key.Key);
            }
        }
    }

    /// <summary>
    /// Writes one channel's msgs in one queue call and puts each position into its slot of the answer. With a key, the
    /// msgs' timestamps are the note stored with it, so that a replay answers the positions of the write it repeats.
    /// Returns whether this was a replay.
    /// </summary>
    private async Task<bool> WriteAsync(string channel, List<(TsMsg Msg, int Slot)> parts, MsgPosition[] positions, GatewayProduceKey? key, CancellationToken cancellationToken)
    {
        var payloads = new ReadOnlyMemory<byte>[parts.Count];
        var timestamps = new ulong[parts.Count];
        for (var i = 0; i < payloads.Length; i++)
        {
            payloads[i] = parts[i].Msg.Marshal();
            timestamps[i] = parts[i].Msg.EndTs;
        }
        IReadOnlyList<long> ids;
        var replayed = false;
        if (key is null)
        {
            ids = await mq.ProduceAsync(channel, payloads, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var note = new byte[timestamps.Length * sizeof(ulong)];
            for (var i = 0; i < timestamps.Length; i++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(note.AsSpan(i * sizeof(ulong)), timestamps[i]);
            }
            var produced = await mq.ProduceAsync(channel, payloads, new MqProduceKey(key.Key, key.Fingerprint, key.Lifetime, note), cancellationToken).ConfigureAwait(false);
            ids = produced.Ids;
            replayed = produced.Replayed;
            if (replayed && produced.Note.Length == note.Length)
            {
                for (var i = 0; i < timestamps.Length; i++)
                {
                    timestamps[i] = BinaryPrimitives.ReadUInt64BigEndian(produced.Note.Span[(i * sizeof(ulong))..]);
                }
            }
        }
        for (var i = 0; i < ids.Count; i++)
        {
            positions[parts[i].Slot] = new MsgPosition(channel, ids[i], "", timestamps[i]);
        }
        return replayed;
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

/// <summary>
/// The idempotency key of a msgstream produce: the client's key, the fingerprint of the request as the client sent
/// it (before ids and timestamps were given), and how long each channel keeps it.
/// </summary>
public sealed record GatewayProduceKey(string Key, ReadOnlyMemory<byte> Fingerprint, TimeSpan Lifetime);

/// <summary>The positions of a msgstream produce, and whether every channel's write was a replay (nothing stored now).</summary>
public sealed record GatewayProduced(IReadOnlyList<MsgPosition> Positions, bool Replayed);
