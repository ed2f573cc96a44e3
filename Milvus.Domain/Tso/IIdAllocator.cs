namespace Milvus.Domain.Tso;

/// <summary>A half-open range of ids, <c>[Begin, End)</c>.</summary>
public readonly record struct IdRange(long Begin, long End)
{
    /// <summary>How many ids the range holds.</summary>
    public long Count => End - Begin;
}

/// <summary>
/// Hands out globally unique, increasing 64-bit ids (seed A.4 and A.6). No id is ever handed out twice, also
/// across restarts and crashes. Implemented by the server-side global allocator and by the batching client.
/// </summary>
public interface IIdAllocator
{
    /// <summary>A contiguous range of <paramref name="count"/> new ids.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is 0 or larger than one batch may be.</exception>
    ValueTask<IdRange> AllocAsync(uint count, CancellationToken cancellationToken = default);

    /// <summary>One new id.</summary>
    ValueTask<long> AllocOneAsync(CancellationToken cancellationToken = default);
}
