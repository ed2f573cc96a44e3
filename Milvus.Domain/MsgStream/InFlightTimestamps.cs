namespace Milvus.Domain.MsgStream;

/// <summary>
/// Keeps the time tick invariant: a tick never passes a timestamp that was assigned to a message that is not
/// written yet. A producer takes its timestamps through <see cref="Begin"/> and calls <see cref="End"/> once
/// the message is durable (or failed); the tick producer asks <see cref="SafeTick"/>. Both allocate under one
/// lock, so no timestamp can be assigned between the tick's allocation and the look at what is in flight.
/// </summary>
public sealed class InFlightTimestamps
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<ulong, int> _inFlight = [];

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
            return ts;
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
            if (_inFlight.Count == 0)
            {
                return now;
            }
            var oldest = _inFlight.Keys.First();
            return Math.Min(now, oldest - 1);
        }
    }
}
