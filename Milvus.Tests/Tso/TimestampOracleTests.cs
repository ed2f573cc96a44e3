using Microsoft.Extensions.Time.Testing;
using Milvus.Domain;
using Milvus.Domain.Kv;
using Milvus.Domain.Tso;

namespace Milvus.Tests.Tso;

public sealed class TimestampOracleTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_000);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly FaultyKv _kv = new();

    private TimestampOracle NewOracle(TsoOptions? options = null) => new(_kv, _time, options ?? new TsoOptions());

    private async Task<TimestampOracle> StartedOracleAsync(TsoOptions? options = null)
    {
        var oracle = NewOracle(options);
        await oracle.InitTimestampAsync();
        return oracle;
    }

    [Fact]
    public async Task InitOnAnEmptyStoreStartsAtTheWallClockAndSavesAWindowThreeSecondsAhead()
    {
        var oracle = await StartedOracleAsync();

        var ts = await oracle.GenerateTsoAsync(1);

        Assert.Equal(Start.ToUnixTimeMilliseconds(), ts.PhysicalMs);
        Assert.Equal(0, ts.Logical);
        Assert.Equal(Start.ToUnixTimeMilliseconds() + 3000, await _kv.SavedNumberAsync(TimestampOracle.DefaultKey));
    }

    [Fact]
    public async Task InitContinuesOneMillisecondAboveASavedWindowThatIsAheadOfTheWallClock()
    {
        var saved = Start.ToUnixTimeMilliseconds() + 10_000;
        await _kv.SaveAsync(TimestampOracle.DefaultKey, saved.ToString());

        var oracle = await StartedOracleAsync();
        var ts = await oracle.GenerateTsoAsync(1);

        Assert.Equal(saved + 1, ts.PhysicalMs);
        Assert.True(await _kv.SavedNumberAsync(TimestampOracle.DefaultKey) > ts.PhysicalMs);
    }

    [Fact]
    public async Task ARestartFromTheSavedValueContinuesAboveEverythingIssuedBefore()
    {
        var first = await StartedOracleAsync();
        var issued = new List<HybridTimestamp>();
        for (var step = 0; step < 20; step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(400));
            await first.UpdateTimestampAsync();
            issued.Add(await first.GenerateTsoAsync(1000));
        }
        var highest = issued.Max().Value + 999;

        // The process dies; the new one's clock is even behind the old one.
        _time.AdjustTime(Start);
        var second = await StartedOracleAsync();
        var next = await second.GenerateTsoAsync(1);

        Assert.True(next.Value > highest, $"{next} must be above {highest}");
    }

    [Fact]
    public async Task AClockThatGoesBackwardsNeverMovesThePhysicalPartBack()
    {
        var oracle = await StartedOracleAsync();
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(await oracle.UpdateTimestampAsync());
        var before = await oracle.GenerateTsoAsync(1);

        _time.AdjustTime(Start.AddSeconds(-30));
        var moved = await oracle.UpdateTimestampAsync();
        var after = await oracle.GenerateTsoAsync(1);

        Assert.False(moved);
        Assert.Equal(before.PhysicalMs, after.PhysicalMs);
        Assert.True(after > before);

        // With the clock still behind, more than half of the logical range used moves it on by exactly 1 ms.
        await oracle.GenerateTsoAsync(200_000);
        Assert.True(await oracle.UpdateTimestampAsync());
        var carried = await oracle.GenerateTsoAsync(1);
        Assert.Equal(before.PhysicalMs + 1, carried.PhysicalMs);
        Assert.Equal(0, carried.Logical);
    }

    [Fact]
    public async Task AClockThatJumpsAheadPersistsTheNewWindowBeforeIssuingInsideIt()
    {
        var oracle = await StartedOracleAsync();
        var oldWindow = oracle.SavedMs;
        _time.Advance(TimeSpan.FromHours(1));
        var gate = _kv.HoldSaves();

        var update = oracle.UpdateTimestampAsync();
        await _kv.SaveArrived.Task.WaitAsync(Patience);
        var duringSave = await oracle.GenerateTsoAsync(1);
        gate.SetResult();
        await update.WaitAsync(Patience);
        var afterSave = await oracle.GenerateTsoAsync(1);

        Assert.True(duringSave.PhysicalMs < oldWindow, "nothing in the new window is issued while its save is in flight");
        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds(), afterSave.PhysicalMs);
        Assert.True(await _kv.SavedNumberAsync(TimestampOracle.DefaultKey) > afterSave.PhysicalMs);
    }

    [Fact]
    public async Task TheStoreAlwaysHoldsASavedTimeAboveEveryIssuedPhysicalPart()
    {
        var oracle = await StartedOracleAsync();
        var random = new Random(4);
        for (var step = 0; step < 300; step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 4000)));
            await oracle.UpdateTimestampAsync();
            var ts = await oracle.GenerateTsoAsync((uint)random.Next(1, 100_000));

            Assert.True(await _kv.SavedNumberAsync(TimestampOracle.DefaultKey) > ts.PhysicalMs, $"step {step}: {ts}");
        }
    }

    [Fact]
    public async Task LogicalOverflowWaitsForTheNextUpdateAndThenIssuesInTheNextMillisecond()
    {
        var oracle = await StartedOracleAsync();
        var whole = await oracle.GenerateTsoAsync((uint)HybridTimestamp.LogicalRange);

        var waiting = oracle.GenerateTsoAsync(1).AsTask();
        Assert.False(waiting.IsCompleted);
        await oracle.UpdateTimestampAsync();
        var next = await waiting.WaitAsync(Patience);

        Assert.Equal(0, whole.Logical);
        Assert.Equal(whole.PhysicalMs + 1, next.PhysicalMs);
        Assert.Equal(0, next.Logical);
    }

    [Fact]
    public async Task LogicalOverflowFailsWithABusyErrorAfterTheBoundedNumberOfFailedUpdates()
    {
        var oracle = await StartedOracleAsync(new TsoOptions { MaxOverflowWaits = 3 });
        await oracle.GenerateTsoAsync((uint)HybridTimestamp.LogicalRange);
        _time.Advance(TimeSpan.FromHours(1));
        _kv.FailSaves = true;

        var waiting = oracle.GenerateTsoAsync(1).AsTask();
        for (var update = 0; update < 3; update++)
        {
            await Assert.ThrowsAsync<KvUnavailableException>(() => oracle.UpdateTimestampAsync());
        }
        var error = await Assert.ThrowsAsync<TsoExhaustedException>(() => waiting.WaitAsync(Patience));

        Assert.Equal(ErrorKind.Busy, error.Kind);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(262_145u)]
    public async Task ACountOfZeroOrAboveTheLogicalRangeIsRejected(uint count)
    {
        var oracle = await StartedOracleAsync();

        Assert.Throws<ArgumentOutOfRangeException>(() => oracle.GenerateTsoAsync(count));
    }

    [Fact]
    public async Task ResetUserTimestampRejectsAValueTooCloseOrTooFarAndAcceptsOneInBetween()
    {
        var oracle = await StartedOracleAsync();
        var now = oracle.PhysicalMs;

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => oracle.ResetUserTimestampAsync(HybridTimestamp.Compose(now - 100, 0)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => oracle.ResetUserTimestampAsync(HybridTimestamp.Compose(now + 2, 0)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => oracle.ResetUserTimestampAsync(HybridTimestamp.Compose(now + (25 * 3600 * 1000L), 0)));
        Assert.Equal(now, oracle.PhysicalMs);

        var target = HybridTimestamp.Compose(now + 3_600_000, 12_345);
        await oracle.ResetUserTimestampAsync(target);
        var next = await oracle.GenerateTsoAsync(1);

        Assert.True(next > target);
        Assert.True(await _kv.SavedNumberAsync(TimestampOracle.DefaultKey) > next.PhysicalMs);
    }

    [Fact]
    public async Task ConcurrentCallersGetDisjointBatchesWithinOneMillisecondEach()
    {
        // Four callers spinning on two cores outrun the updater by far; let them wait as long as it takes.
        var oracle = await StartedOracleAsync(new TsoOptions { MaxOverflowWaits = 1000 });
        using var stop = new CancellationTokenSource();
        var updater = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                _time.Advance(TimeSpan.FromMilliseconds(1));
                await oracle.UpdateTimestampAsync();
            }
        });
        var callers = Enumerable.Range(0, 4).Select(caller => Task.Run(async () =>
        {
            var random = new Random(caller);
            var batches = new List<(ulong First, uint Count)>();
            for (var i = 0; i < 20_000; i++)
            {
                var count = (uint)random.Next(1, 64);
                var first = await oracle.GenerateTsoAsync(count);
                Assert.True(first.Logical + count <= HybridTimestamp.LogicalRange);
                batches.Add((first.Value, count));
            }
            return batches;
        })).ToList();
        var all = (await Task.WhenAll(callers)).SelectMany(b => b).OrderBy(b => b.First).ToList();
        await stop.CancelAsync();
        await updater;

        for (var i = 1; i < all.Count; i++)
        {
            Assert.True(all[i - 1].First + all[i - 1].Count <= all[i].First, $"batches {i - 1} and {i} overlap");
        }
    }

    [Fact]
    public async Task AFailedLoadOfTheSavedTimeFailsInitAndTheOracleIssuesNothing()
    {
        _kv.FailLoads = true;
        var oracle = NewOracle();

        await Assert.ThrowsAsync<KvUnavailableException>(() => oracle.InitTimestampAsync());

        Assert.False(oracle.IsReady);
        Assert.Throws<TsoNotReadyException>(() => oracle.GenerateTsoAsync(1));
    }

    [Fact]
    public async Task ASavedTimeThatIsNotANumberFailsInit()
    {
        await _kv.SaveAsync(TimestampOracle.DefaultKey, "yesterday");

        await Assert.ThrowsAsync<TsoCorruptStateException>(() => NewOracle().InitTimestampAsync());
    }

    [Fact]
    public async Task ResetTimestampStopsIssuingUntilTheNextInit()
    {
        var oracle = await StartedOracleAsync();
        var before = await oracle.GenerateTsoAsync(1);

        oracle.ResetTimestamp();
        var error = Assert.Throws<TsoNotReadyException>(() => oracle.GenerateTsoAsync(1));
        await oracle.InitTimestampAsync();
        var after = await oracle.GenerateTsoAsync(1);

        Assert.Equal(ErrorKind.Unavailable, error.Kind);
        Assert.True(after > before);
    }
}
