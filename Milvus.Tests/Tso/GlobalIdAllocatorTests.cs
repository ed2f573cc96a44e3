using Microsoft.Extensions.Time.Testing;
using Milvus.Domain.Kv;
using Milvus.Domain.Tso;

namespace Milvus.Tests.Tso;

public sealed class GlobalIdAllocatorTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_000);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly FaultyKv _kv = new();

    private async Task<GlobalIdAllocator> StartedAsync()
    {
        var ids = new GlobalIdAllocator(_kv, _time, new TsoOptions());
        await ids.InitAsync();
        return ids;
    }

    [Fact]
    public async Task IdsStartAtTheWallClocksHybridTimestamp()
    {
        var ids = await StartedAsync();

        var id = await ids.AllocOneAsync();

        Assert.Equal(HybridTimestamp.FromWallTime(Start).Value, (ulong)id);
    }

    [Fact]
    public async Task ABatchLargerThanTheLogicalRangeCarriesIntoThePhysicalPart()
    {
        var ids = await StartedAsync();

        var range = await ids.AllocAsync(1_000_000);
        var next = await ids.AllocAsync(1);

        Assert.Equal(1_000_000, range.Count);
        Assert.True(new HybridTimestamp((ulong)range.End).PhysicalMs > new HybridTimestamp((ulong)range.Begin).PhysicalMs);
        Assert.Equal(range.End, next.Begin);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1_000_001u)]
    public async Task ACountOfZeroOrAboveTheLimitIsRejected(uint count)
    {
        var ids = await StartedAsync();

        Assert.Throws<ArgumentOutOfRangeException>(() => ids.AllocAsync(count));
    }

    [Fact]
    public async Task TheStoreAlwaysHoldsAHighWaterMarkAboveEveryIssuedId()
    {
        var ids = await StartedAsync();
        var savesAtStart = _kv.Saves;
        for (var i = 0; i < 2000; i++)
        {
            var range = await ids.AllocAsync(1_000_000);

            Assert.True(await _kv.SavedNumberAsync(GlobalIdAllocator.DefaultKey) >= range.End, $"allocation {i}");
        }
        Assert.True(_kv.Saves > savesAtStart, "two billion ids cross the saved window, so it was extended");
    }

    [Fact]
    public async Task ConcurrentCallersGetDisjointRanges()
    {
        var ids = await StartedAsync();

        var ranges = await Task.WhenAll(Enumerable.Range(0, 4).Select(caller => Task.Run(async () =>
        {
            var mine = new List<IdRange>();
            for (var i = 0; i < 20_000; i++)
            {
                mine.Add(await ids.AllocAsync((uint)(1 + (i % 500))));
            }
            return mine;
        })));
        var all = ranges.SelectMany(r => r).OrderBy(r => r.Begin).ToList();

        for (var i = 1; i < all.Count; i++)
        {
            Assert.True(all[i - 1].End <= all[i].Begin, $"ranges {i - 1} and {i} overlap");
        }
    }

    [Fact]
    public async Task ARestartContinuesAboveTheHighWaterMarkEvenWithTheClockBehind()
    {
        var first = await StartedAsync();
        long highest = 0;
        for (var i = 0; i < 50; i++)
        {
            highest = (await first.AllocAsync(100_000)).End;
        }

        _time.AdjustTime(Start.AddMinutes(-10));
        var second = await StartedAsync();

        Assert.True(await second.AllocOneAsync() >= highest);
    }

    [Fact]
    public async Task NoIdBeyondTheSavedMarkIsHandedOutWhileTheStoreCannotSave()
    {
        var ids = await StartedAsync();
        var mark = ids.SavedHighWater;
        _kv.FailSaves = true;

        var failures = 0;
        for (var i = 0; i < 1000 && failures == 0; i++)
        {
            try
            {
                var range = await ids.AllocAsync(1_000_000);
                Assert.True(range.End <= mark);
            }
            catch (KvUnavailableException)
            {
                failures++;
            }
        }

        Assert.Equal(1, failures);
    }

    [Fact]
    public async Task AFailedLoadOfTheHighWaterMarkFailsInit()
    {
        _kv.FailLoads = true;
        var ids = new GlobalIdAllocator(_kv, _time, new TsoOptions());

        await Assert.ThrowsAsync<KvUnavailableException>(() => ids.InitAsync());
        Assert.Throws<TsoNotReadyException>(() => ids.AllocAsync(1));
    }
}
