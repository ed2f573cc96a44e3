using Microsoft.Extensions.Logging;
using Milvus.Domain.Tso;

namespace Milvus.Domain.Allocation;

/// <summary>
/// The client-side id allocator (seed A.6): it prefetches <c>max(need, 200000)</c> ids from its source (the
/// in-process global allocator or a remote gateway) and hands them out from the cache. Ids never go stale, so
/// the cache has no expiry. Call <see cref="Allocator{T}.Start"/> before use.
/// </summary>
public sealed class IdAllocator : Allocator<IdRange>, IIdAllocator
{
    /// <summary>How many ids one fetch takes at least.</summary>
    public const uint PrefetchCount = 200_000;

    /// <summary>The largest batch one fetch (and so one request) may take, as the gateway allows for one id allocation.</summary>
    public const uint MaxCount = 1_000_000;

    private readonly IIdAllocator _source;
    private readonly Lock _gate = new();
    private long _next;
    private long _end;

    public IdAllocator(IIdAllocator source, int queueCapacity = 4096, ILogger<IdAllocator>? logger = null)
        : base("id", queueCapacity, logger)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
    }

    /// <summary>How many ids the cache holds.</summary>
    public long Cached
    {
        get
        {
            lock (_gate)
            {
                return _end - _next;
            }
        }
    }

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is 0 or above <see cref="MaxCount"/>.</exception>
    public ValueTask<IdRange> AllocAsync(uint count, CancellationToken cancellationToken = default)
    {
        if (count is 0 or > MaxCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"A batch holds 1 to {MaxCount} ids.");
        }
        return AllocCoreAsync(count, cancellationToken);
    }

    public async ValueTask<long> AllocOneAsync(CancellationToken cancellationToken = default) =>
        (await AllocAsync(1, cancellationToken).ConfigureAwait(false)).Begin;

    protected override bool TryTake(uint count, out IdRange result)
    {
        lock (_gate)
        {
            if (_end - _next >= count)
            {
                result = new IdRange(_next, _next + count);
                _next += count;
                return true;
            }
        }
        result = default;
        return false;
    }

    protected override async Task FetchAsync(long need, CancellationToken cancellationToken)
    {
        var count = (uint)Math.Clamp(need, PrefetchCount, MaxCount);
        var range = await _source.AllocAsync(count, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            // The rest of the previous range is dropped: ids may have gaps, never repeats.
            _next = range.Begin;
            _end = range.End;
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
