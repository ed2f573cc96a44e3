using Microsoft.Extensions.Time.Testing;
using Milvus.Domain.Allocation;
using Milvus.Domain.Kv.Memory;
using Milvus.Domain.Tso;

namespace Milvus.Tests.Allocation;

public sealed class AllocatorTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_000));
    private readonly MemoryKv _kv = new();
    private readonly GlobalIdAllocator _ids;
    private readonly TimestampOracle _oracle;

    public AllocatorTests()
    {
        _ids = new GlobalIdAllocator(_kv, _time, new TsoOptions());
        _oracle = new TimestampOracle(_kv, _time, new TsoOptions());
    }

    public async Task InitializeAsync()
    {
        await _ids.InitAsync();
        await _oracle.InitTimestampAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static IdAllocator Started(IdAllocator allocator)
    {
        allocator.Start();
        return allocator;
    }

    [Fact]
    public async Task ASmallRequestPrefetchesTwoHundredThousandIdsAndLaterOnesComeFromTheCache()
    {
        var source = new CountingSource(ids: _ids);
        await using var allocator = Started(new IdAllocator(source));

        var first = await allocator.AllocOneAsync();
        var later = new List<long>();
        for (var i = 0; i < 1000; i++)
        {
            later.Add(await allocator.AllocOneAsync());
        }

        Assert.Equal([200_000u], source.Counts);
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => first + i), later);
        Assert.Equal(200_000 - 1001, allocator.Cached);
    }

    [Fact]
    public async Task ARequestAboveThePrefetchFetchesWhatItNeeds()
    {
        var source = new CountingSource(ids: _ids);
        await using var allocator = Started(new IdAllocator(source));

        var range = await allocator.AllocAsync(500_000);

        Assert.Equal(500_000, range.Count);
        Assert.Equal([500_000u], source.Counts);
    }

    [Fact]
    public async Task RequestsThatQueueDuringAFetchAreMergedIntoOneFetch()
    {
        var source = new CountingSource(ids: _ids) { Gate = new(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var allocator = Started(new IdAllocator(source));

        var first = allocator.AllocAsync(1).AsTask();
        await source.Entered.Task.WaitAsync(Patience);
        var queued = Enumerable.Range(0, 10).Select(_ => allocator.AllocAsync(50_000).AsTask()).ToList();
        source.Gate.SetResult();
        var ranges = await Task.WhenAll(queued.Prepend(first)).WaitAsync(Patience);

        // The first fetch serves the first request and three queued ones; the other seven share one fetch.
        Assert.Equal([200_000u, 350_000u], source.Counts);
        var sorted = ranges.OrderBy(r => r.Begin).ToList();
        Assert.All(sorted.Zip(sorted.Skip(1)), pair => Assert.True(pair.First.End <= pair.Second.Begin));
    }

    [Fact]
    public async Task ConcurrentCallersOfTheIdAllocatorGetDisjointRanges()
    {
        await using var allocator = Started(new IdAllocator(_ids));

        var perCaller = await Task.WhenAll(Enumerable.Range(0, 8).Select(caller => Task.Run(async () =>
        {
            var mine = new List<IdRange>();
            for (var i = 0; i < 3000; i++)
            {
                mine.Add(await allocator.AllocAsync((uint)(1 + ((i * 37) % 1000))));
            }
            return mine;
        })));
        var all = perCaller.SelectMany(r => r).OrderBy(r => r.Begin).ToList();

        Assert.All(all.Zip(all.Skip(1)), pair => Assert.True(pair.First.End <= pair.Second.Begin));
    }

    [Fact]
    public async Task TheTimestampAllocatorHandsOutACachedBatchOnlyWhileItIsFresh()
    {
        var source = new CountingSource(oracle: _oracle);
        await using var allocator = new TimestampAllocator(source, _time, TimeSpan.FromMilliseconds(50));
        allocator.Start();

        var first = await allocator.AllocOneAsync();
        _time.Advance(TimeSpan.FromMilliseconds(49));
        var stillCached = await allocator.AllocOneAsync();
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await _oracle.UpdateTimestampAsync();
        var fresh = await allocator.AllocOneAsync();

        Assert.Equal(first.Value + 1, stillCached.Value);
        Assert.Equal([1000u, 1000u], source.Counts);
        Assert.True(fresh > stillCached);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds(), fresh.PhysicalMs);
    }

    [Fact]
    public async Task TheTimestampAllocatorFetchesTheNextBatchBeforeTheCacheRunsDry()
    {
        var source = new CountingSource(oracle: _oracle);
        await using var allocator = new TimestampAllocator(source, _time, TimeSpan.FromMilliseconds(50), prefetch: 100);
        allocator.Start();

        var last = await allocator.AllocOneAsync();
        for (var i = 0; i < 75; i++)
        {
            var next = await allocator.AllocOneAsync();
            Assert.True(next > last);
            last = next;
        }
        // 24 of the first 100 are left: below a quarter, so a second fetch starts with nobody waiting for it.
        using var timeout = new CancellationTokenSource(Patience);
        while (source.Counts.Count < 2)
        {
            await Task.Delay(1, timeout.Token);
        }
        Assert.Equal([100u, 100u], source.Counts);
        for (var i = 0; i < 50; i++)
        {
            var next = await allocator.AllocOneAsync();
            Assert.True(next > last);
            last = next;
        }
    }

    [Fact]
    public async Task AnExactBatchingTimestampAllocatorNeverFetchesAhead()
    {
        var source = new CountingSource(oracle: _oracle);
        await using var allocator = new TimestampAllocator(source, _time, TimeSpan.FromMilliseconds(50), prefetch: 1);
        allocator.Start();

        await allocator.AllocAsync(10);
        await allocator.AllocOneAsync();

        Assert.Equal([10u, 1u], source.Counts);
    }

    [Fact]
    public async Task CleanCacheMakesTheNextRequestFetchAgain()
    {
        var source = new CountingSource(oracle: _oracle);
        await using var allocator = new TimestampAllocator(source, _time);
        allocator.Start();

        var before = await allocator.AllocOneAsync();
        allocator.CleanCache();
        var after = await allocator.AllocOneAsync();

        Assert.Equal(2, source.Counts.Count);
        Assert.True(after > before);
    }

    [Fact]
    public async Task AThousandConcurrentTimestampCallersGetDistinctTimestampsFromFewFetches()
    {
        var source = new CountingSource(oracle: _oracle);
        await using var allocator = new TimestampAllocator(source, _time, prefetch: 1);
        allocator.Start();

        var all = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Task.Run(() => allocator.AllocOneAsync().AsTask())));

        Assert.Equal(1000, all.Distinct().Count());
        Assert.True(source.Counts.Count < 1000, $"{source.Counts.Count} fetches");
        Assert.Equal(1000, source.Counts.Sum(c => c));
    }

    [Fact]
    public async Task AFetchErrorReachesTheWaitingCallerAndLaterRequestsAreServed()
    {
        _oracle.ResetTimestamp();
        await using var allocator = new TimestampAllocator(_oracle, _time);
        allocator.Start();

        await Assert.ThrowsAsync<TsoNotReadyException>(() => allocator.AllocOneAsync().AsTask().WaitAsync(Patience));
        await _oracle.InitTimestampAsync();
        var ts = await allocator.AllocOneAsync().AsTask().WaitAsync(Patience);

        Assert.True(ts.PhysicalMs > 0);
    }

    [Fact]
    public async Task CloseFailsTheWaitingRequestAndEveryLaterOne()
    {
        var source = new CountingSource(ids: _ids) { Gate = new(TaskCreationOptions.RunContinuationsAsynchronously) };
        var allocator = Started(new IdAllocator(source));

        var waiting = allocator.AllocOneAsync().AsTask();
        await source.Entered.Task.WaitAsync(Patience);
        await allocator.CloseAsync().WaitAsync(Patience);

        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting.WaitAsync(Patience));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => allocator.AllocOneAsync().AsTask());
    }

    [Fact]
    public async Task ARequestBeforeStartIsAnError()
    {
        await using var allocator = new IdAllocator(_ids);

        await Assert.ThrowsAsync<InvalidOperationException>(() => allocator.AllocOneAsync().AsTask());
    }
}
