namespace Milvus.Domain.MsgStream;

/// <summary>
/// Keeps the time tick invariant: a tick never passes a timestamp that was assigned to a message that is not
/// written yet. A producer takes its timestamps through <see cref="Begin"/> and calls <see cref="End"/> once
/// the message is durable (or failed); the tick producer asks <see cref="SafeTick"/>. Both allocate under one
/// lock, so no timestamp can be assigned between the tick's allocation and the look at what is in flight.
/// The async pair <see cref="BeginAsync"/> and <see cref="SafeTickAsync"/> allocates outside the lock (an
/// allocator that must wait, e.g. an exhausted TSO, then holds nobody up): a producer first registers a floor, the
/// highest timestamp known so far, below which its own timestamp cannot fall, and the tick never passes a floor.
/// </summary>
public sealed class InFlightTimestamps
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<ulong, int> _inFlight = [];
    private readonly SortedDictionary<ulong, int> _pendingFloors = [];
    private ulong _highWater;

    /// <summary>How many timestamps are assigned but not yet written.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _inFlight.Values.Sum();
            }
        }
    }

    /// <summary>Allocates a timestamp with <paramref name="allocate"/> and marks it in flight.</summary>
    public ulong Begin(Func<ulong> allocate)
    {
        ArgumentNullException.ThrowIfNull(allocate);
        lock (_gate)
        {
            var ts = allocate();
            _inFlight[ts] = _inFlight.GetValueOrDefault(ts) + 1;
            _highWater = Math.Max(_highWater, ts);
            return ts;
        }
    }

    /// <summary>
    /// Allocates a timestamp with <paramref name="allocate"/>, outside the lock, and marks it in flight; call
    /// <see cref="End"/> with it once written. <paramref name="allocate"/> must hand out increasing timestamps
    /// (a TSO does), so the allocation lands above every timestamp seen before this call.
    /// </summary>
    public async ValueTask<ulong> BeginAsync(Func<CancellationToken, ValueTask<ulong>> allocate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(allocate);
        ulong floor;
        lock (_gate)
        {
            floor = _highWater;
            Add(_pendingFloors, floor);
        }
        ulong ts;
        try
        {
            ts = await allocate(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lock (_gate)
            {
                Remove(_pendingFloors, floor);
            }
            throw;
        }
        lock (_gate)
        {
            Remove(_pendingFloors, floor);
            Add(_inFlight, ts);
            _highWater = Math.Max(_highWater, ts);
        }
        return ts;
    }

    /// <summary>
    /// The highest tick that covers only written messages, with the allocation outside the lock: a fresh
    /// timestamp from <paramref name="allocate"/>, capped below the oldest timestamp in flight and at the floor of
    /// every allocation still under way in <see cref="BeginAsync"/>.
    /// </summary>
    public async ValueTask<ulong> SafeTickAsync(Func<CancellationToken, ValueTask<ulong>> allocate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(allocate);
        var now = await allocate(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _highWater = Math.Max(_highWater, now);
            var tick = now;
            if (_inFlight.Count > 0)
            {
                tick = Math.Min(tick, _inFlight.Keys.First() - 1);
            }
            if (_pendingFloors.Count > 0)
            {
                tick = Math.Min(tick, _pendingFloors.Keys.First());
            }
            return tick;
        }
    }

    /// <summary>Marks <paramref name="ts"/> as written (or abandoned).</summary>
    /// <exception cref="InvalidOperationException"><paramref name="ts"/> is not in flight.</exception>
    public void End(ulong ts)
    {
        lock (_gate)
        {
            if (!_inFlight.TryGetValue(ts, out var count))
            {
                throw new InvalidOperationException($"Timestamp {ts} is not in flight.");
            }
            if (count == 1)
            {
                _inFlight.Remove(ts);
            }
            else
            {
                _inFlight[ts] = count - 1;
            }
        }
    }

    /// <summary>
    /// The highest tick that covers only written messages: a fresh timestamp from <paramref name="allocate"/>,
    /// or just below the oldest timestamp still in flight, whichever is lower.
    /// </summary>
    public ulong SafeTick(Func<ulong> allocate)
    {
        ArgumentNullException.ThrowIfNull(allocate);
        lock (_gate)
        {
            var now = allocate();
            _highWater = Math.Max(_highWater, now);
            if (_pendingFloors.Count > 0)
            {
                now = Math.Min(now, _pendingFloors.Keys.First());
            }
            if (_inFlight.Count == 0)
            {
                return now;
            }
            var oldest = _inFlight.Keys.First();
            return Math.Min(now, oldest - 1);
        }
    }

    private static void Add(SortedDictionary<ulong, int> counts, ulong ts) => counts[ts] = counts.GetValueOrDefault(ts) + 1;

    private static void Remove(SortedDictionary<ulong, int> counts, ulong ts)
    {
        var count = counts[ts];
        if (count == 1)
        {
            counts.Remove(ts);
        }
        else
        {
            counts[ts] = count - 1;
        }
    }
}
