namespace Milvus.Domain.Tso;

/// <summary>
/// Hands out contiguous batches of hybrid timestamps (seed A.6.3), each strictly above every timestamp handed
/// out before by the same source. Implemented by the in-process oracle, by the remote gateway's client and by
/// the batching client-side allocator.
/// </summary>
public interface ITimestampAllocator
{
    /// <summary>The first of <paramref name="count"/> timestamps: the batch is <c>[first, first + count)</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is 0 or larger than 262144.</exception>
    ValueTask<HybridTimestamp> AllocAsync(uint count, CancellationToken cancellationToken = default);

    /// <summary>One new timestamp.</summary>
    ValueTask<HybridTimestamp> AllocOneAsync(CancellationToken cancellationToken = default);
}
