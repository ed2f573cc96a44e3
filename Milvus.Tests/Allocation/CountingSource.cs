using Milvus.Domain.Tso;

namespace Milvus.Tests.Allocation;

/// <summary>
/// Passes calls through to a real oracle or global allocator, recording each fetch's count; optionally holds
/// fetches at a gate so that tests can queue requests while one fetch is in flight.
/// </summary>
internal sealed class CountingSource(GlobalIdAllocator? ids = null, TimestampOracle? oracle = null) : IIdAllocator, ITimestampAllocator
{
    private readonly Lock _gate = new();
    private readonly List<uint> _counts = [];

    /// <summary>When set, fetches wait for it.</summary>
    public TaskCompletionSource? Gate { get; set; }

    /// <summary>Completes when a fetch has arrived.</summary>
    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<uint> Counts
    {
        get
        {
            lock (_gate)
            {
                return [.. _counts];
            }
        }
    }

    public async ValueTask<IdRange> AllocAsync(uint count, CancellationToken cancellationToken = default)
    {
        await ArriveAsync(count, cancellationToken);
        return await ids!.AllocAsync(count, cancellationToken);
    }

    public async ValueTask<long> AllocOneAsync(CancellationToken cancellationToken = default) => (await AllocAsync(1, cancellationToken)).Begin;

    async ValueTask<HybridTimestamp> ITimestampAllocator.AllocAsync(uint count, CancellationToken cancellationToken)
    {
        await ArriveAsync(count, cancellationToken);
        return await oracle!.GenerateTsoAsync(count, cancellationToken);
    }

    ValueTask<HybridTimestamp> ITimestampAllocator.AllocOneAsync(CancellationToken cancellationToken) =>
        ((ITimestampAllocator)this).AllocAsync(1, cancellationToken);

    private async Task ArriveAsync(uint count, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _counts.Add(count);
        }
        Entered.TrySetResult();
        if (Gate is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }
    }
}
