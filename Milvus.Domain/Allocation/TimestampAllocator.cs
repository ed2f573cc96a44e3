using Microsoft.Extensions.Logging;
using Milvus.Domain.Tso;

namespace Milvus.Domain.Allocation;

/// <summary>
/// The client-side timestamp allocator (seed A.6.3): it fetches batches from its source (the in-process oracle
/// or a remote gateway) and hands out a cached batch only while it is fresh, that is for
/// <see cref="MaxAge"/> after the fetch; an older batch is dropped, so a handed-out timestamp is never far behind
/// the oracle. Call <see cref="Allocator{T}.Start"/> before use.
/// </summary>
public sealed class TimestampAllocator : Allocator<HybridTimestamp>, ITimestampAllocator
{
    /// <summary>The largest batch one fetch (and so one request) may take: one millisecond's logical range.</summary>
    public const uint MaxCount = (uint)HybridTimestamp.LogicalRange;

    private readonly ITimestampAllocator _source;
    private readonly TimeProvider _time;
    private readonly uint _prefetch;
    private readonly ulong _lowWater;
    private readonly Lock _gate = new();
    private ulong _next;
    private ulong _end;
    private long _fetchedAt;

    /// <param name="source">Where batches come from.</param>
    /// <param name="time">The clock that ages the cache.</param>
    /// <param name="maxAge">How long a fetched batch may be handed out; the default is one oracle update interval, 50 ms.</param>
    /// <param name="prefetch">How many timestamps one fetch takes at least.</param>
    /// <param name="queueCapacity">How many requests may wait for a fetch.</param>
    /// <param name="logger">Where fetch failures are logged.</param>
    /// <param name="refillBelow">
    /// How few cached timestamps make the allocator fetch the next batch ahead of need; the default is a quarter of
    /// <paramref name="prefetch"/>. A higher value hides a slower fetch (callers keep being served from the cache
    /// while it is in flight) at the price of dropping more of the old batch's rest.
    /// </param>
    public TimestampAllocator(ITimestampAllocator source, TimeProvider time, TimeSpan? maxAge = null, uint prefetch = 1000, int queueCapacity = 4096, ILogger<TimestampAllocator>? logger = null, uint? refillBelow = null)
        : base("timestamp", queueCapacity, logger)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(time);
        MaxAge = maxAge ?? TimeSpan.FromMilliseconds(50);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MaxAge, TimeSpan.Zero, nameof(maxAge));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefetch, MaxCount);
        _source = source;
        _time = time;
        _prefetch = prefetch;
        // An allocator that fetches exactly what waits (prefetch 1) never fetches ahead.
        _lowWater = prefetch > 1 ? refillBelow ?? prefetch / 4 : 0;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_lowWater, prefetch, nameof(refillBelow));
    }

    /// <summary>How long a fetched batch may be handed out.</summary>
    public TimeSpan MaxAge { get; }

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is 0 or above <see cref="MaxCount"/>.</exception>
    public ValueTask<HybridTimestamp> AllocAsync(uint count, CancellationToken cancellationToken = default)
    {
        if (count is 0 or > MaxCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"A batch holds 1 to {MaxCount} timestamps.");
        }
        return AllocCoreAsync(count, cancellationToken);
    }

    public ValueTask<HybridTimestamp> AllocOneAsync(CancellationToken cancellationToken = default) =>
        AllocCoreAsync(1, cancellationToken);

    protected override bool TryTake(uint count, out HybridTimestamp result)
    {
        bool low;
        lock (_gate)
        {
            if (_end - _next < count || _time.GetElapsedTime(_fetchedAt) >= MaxAge)
            {
                result = default;
                return false;
            }
            result = new HybridTimestamp(_next);
            _next += count;
            low = _end - _next < _lowWater;
        }
        if (low)
        {
            // A quarter of the batch is left: fetch the next one now, so no caller waits on an empty cache.
            RequestRefill();
        }
        return true;
    }

    protected override bool NeedsRefill()
    {
        lock (_gate)
        {
            return _end - _next < _lowWater;
        }
    }

    protected override async Task FetchAsync(long need, CancellationToken cancellationToken)
    {
        var count = (uint)Math.Clamp(need, Math.Max(_prefetch, 1), MaxCount);
        // The batch ages from the moment it was asked for, which is never later than when the oracle issued it.
        var fetchedAt = _time.GetTimestamp();
        var first = await _source.AllocAsync(count, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            // A batch is strictly above every earlier one, so replacing the rest of the old one keeps order.
            _next = first.Value;
            _end = first.Value + count;
            _fetchedAt = fetchedAt;
        }
    }

    protected override void ClearCache()
    {
        lock (_gate)
        {
            _next = _end = 0;
        }
    }
}
