namespace Milvus.Domain.MsgStream;

/// <summary>
/// The heart of a time-ticked stream, without any I/O: messages read from each channel, in order, go in; packs
/// come out once every channel has reached the same time tick above the last one. A pack holds exactly the
/// buffered messages with <c>EndTs ≤ tick</c> (the rest wait for a later pack), in channel order, and a message
/// read twice on one channel (the same id, e.g. a producer's retry) only once. Start
/// positions are the previous end positions; an end position points at the channel's first unsolved message,
/// or at its tick, so that a subscription seeking there resumes exactly.
/// </summary>
/// <remarks>Not thread-safe: one reader drives it.</remarks>
public sealed class TimeTickAligner
{
    private readonly ChannelState[] _channels;
    private ulong _lastTick;
    private List<MsgPosition>? _lastEndPositions;

    /// <summary>Where the first pack after a seek begins: the lowest of the positions' timestamps.</summary>
    private ulong? _seekBeginTs;

    /// <summary>An aligner over <paramref name="channels"/>, in that order, read by <paramref name="group"/>.</summary>
    public TimeTickAligner(IReadOnlyList<string> channels, string group)
    {
        ArgumentNullException.ThrowIfNull(channels);
        if (channels.Count == 0)
        {
            throw new ArgumentException("A time-ticked stream needs at least one channel.", nameof(channels));
        }
        _channels = channels.Select(c => new ChannelState(c)).ToArray();
        Group = group;
    }

    /// <summary>The consumer group whose reads feed this aligner.</summary>
    public string Group { get; }

    /// <summary>The tick of the last pack released (or the seek position's timestamp).</summary>
    public ulong LastTick => _lastTick;

    /// <summary>
    /// Whether channel <paramref name="index"/> should be read further: it has not yet reached a tick above the
    /// last one, or the other channels have reached a higher tick than it.
    /// </summary>
    public bool NeedsMore(int index)
    {
        var channel = _channels[index];
        if (channel.Tick is not { } tick || tick <= _lastTick)
        {
            return true;
        }
        // A loop, not LINQ: the pump asks this once per message read.
        foreach (var other in _channels)
        {
            if (other.Tick > tick)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Takes the next message read from channel <paramref name="index"/>, at <paramref name="position"/>.
    /// A time tick records how far the channel has come; any other message waits in the channel's buffer.
    /// </summary>
    public void Offer(int index, TsMsg msg, MsgPosition position)
    {
        ArgumentNullException.ThrowIfNull(msg);
        var channel = _channels[index];
        msg.Position = position;
        channel.Start ??= position with { MsgGroup = Group, Timestamp = _lastTick };
        if (msg is TimeTickMsg tick)
        {
            if (channel.SeekTimestamp is { } seekTs && tick.EndTs >= seekTs)
            {
                channel.SeekTimestamp = null;
            }
            if (channel.Tick is null || tick.EndTs > channel.Tick)
            {
                channel.Tick = tick.EndTs;
                channel.TickPosition = position;
            }
            return;
        }
        if (channel.SeekTimestamp is { } seek && msg.EndTs <= seek)
        {
            // Delivered before the position this subscription sought to.
            return;
        }
        channel.Buffer.Add(msg);
    }

    /// <summary>Releases the next pack if every channel has reached the same tick above the last one.</summary>
    public bool TryCut(out MsgPack pack)
    {
        pack = null!;
        var tick = _channels[0].Tick;
        if (tick is null || tick <= _lastTick || _channels.Any(c => c.Tick != tick || c.SeekTimestamp is not null))
        {
            return false;
        }
        var currentTick = tick.Value;
        var startPositions = _lastEndPositions ?? [.. _channels.Select(c => c.FirstPosition(Group, _lastTick))];
        var buffered = 0;
        foreach (var channel in _channels)
        {
            buffered += channel.Buffer.Count;
        }
        var msgs = new List<TsMsg>(buffered);
        var endPositions = new List<MsgPosition>(_channels.Length);
        foreach (var channel in _channels)
        {
            var seen = new HashSet<long>(channel.Buffer.Count);
            var unsolved = new List<TsMsg>();
            foreach (var msg in channel.Buffer)
            {
                if (msg.EndTs > currentTick)
                {
                    unsolved.Add(msg);
                }
                else if (seen.Add(msg.Id))
                {
                    msgs.Add(msg);
                }
            }
            channel.Buffer = unsolved;
            var at = unsolved.Count > 0 ? unsolved[0].Position! : channel.TickPosition!;
            endPositions.Add(at with { MsgGroup = Group, Timestamp = currentTick });
        }
        pack = new MsgPack
        {
            BeginTs = _seekBeginTs ?? _lastTick,
            EndTs = currentTick,
            Msgs = msgs,
            StartPositions = startPositions,
            EndPositions = endPositions,
        };
        _lastEndPositions = endPositions;
        _lastTick = currentTick;
        _seekBeginTs = null;
        return true;
    }

    /// <summary>
    /// Prepares for reading from <paramref name="positions"/> (one per channel, by channel name), as Milvus's
    /// TtMsgStream does: each channel applies its own position. A message of a channel was delivered before its
    /// position when its EndTs is at or below the position's timestamp, so such messages are dropped until the channel
    /// reaches a tick at or above that timestamp; a message whose BeginTs is at or below the position but whose EndTs
    /// is above it is delivered. The first pack after the seek is cut at a tick above every position's timestamp, and
    /// begins at the lowest of them.
    /// </summary>
    public void Seek(IReadOnlyList<MsgPosition> positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        var byName = positions.ToDictionary(p => p.ChannelName, StringComparer.Ordinal);
        foreach (var channel in _channels)
        {
            if (!byName.ContainsKey(channel.Name))
            {
                throw new ArgumentException($"No seek position names channel '{channel.Name}'.", nameof(positions));
            }
        }
        foreach (var channel in _channels)
        {
            var position = byName[channel.Name];
            channel.Buffer.Clear();
            channel.Tick = null;
            channel.TickPosition = null;
            channel.SeekTimestamp = position.Timestamp;
            channel.Start = position with { MsgGroup = Group };
        }
        _lastTick = _channels.Max(c => c.SeekTimestamp!.Value);
        _seekBeginTs = _channels.Min(c => c.SeekTimestamp!.Value);
        _lastEndPositions = [.. _channels.Select(c => c.Start!)];
    }

    private sealed class ChannelState(string name)
    {
        public string Name { get; } = name;

        public List<TsMsg> Buffer { get; set; } = [];

        public ulong? Tick { get; set; }

        public MsgPosition? TickPosition { get; set; }

        public ulong? SeekTimestamp { get; set; }

        public MsgPosition? Start { get; set; }

        public MsgPosition FirstPosition(string group, ulong timestamp) =>
            Start ?? new MsgPosition(Name, 0, group, timestamp);
    }
}
