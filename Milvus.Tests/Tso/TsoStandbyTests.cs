using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Embedded;
using Milvus.Domain.Kv.Memory;
using Milvus.Domain.Sessions;
using Milvus.Domain.Tso;
using Milvus.Workers.Tso;

namespace Milvus.Tests.Tso;

/// <summary>Two TSO components on one meta KV: one active, one standby that takes over above everything issued.</summary>
public sealed class TsoStandbyTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TsoOptions _options = new();
    private IMetaKv _kv = null!;

    public async Task InitializeAsync() => _kv = await EmbeddedMetaKv.OpenAsync(new MemoryKv("tso-standby"), "standby");

    public async Task DisposeAsync() => await _kv.DisposeAsync();

    [Fact]
    public async Task TheSecondComponentStandsByNamingTheActiveAndTakesOverAboveEverythingIssuedWhenTheFirstStops()
    {
        var first = NewComponent("http://first:19530");
        await StartAsync(first);
        var second = NewComponent("http://second:19530");
        await StartAsync(second);

        Assert.Equal(StateCode.Healthy, first.Tracker.State);
        Assert.True(first.IsActive);
        Assert.Equal(StateCode.StandBy, second.Tracker.State);
        Assert.False(second.IsActive);
        Assert.Equal("http://first:19530", second.ActiveAddress);
        Assert.False(second.Oracle.IsReady);
        var lastTs = await first.Oracle.GenerateTsoAsync(1000);
        var lastIds = await first.Ids.AllocAsync(1000);

        var tookOver = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        second.Tracker.Changed += (_, now) =>
        {
            if (now == StateCode.Healthy)
            {
                tookOver.TrySetResult();
            }
        };
        await first.StopAsync(CancellationToken.None);
        await tookOver.Task.WaitAsync(Patience);

        Assert.True(second.IsActive);
        Assert.False(first.Oracle.IsReady);
        Assert.True((await second.Oracle.GenerateTsoAsync(1)).Value >= lastTs.Value + 1000);
        Assert.True((await second.Ids.AllocAsync(1)).Begin >= lastIds.End);
        await second.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task AnOracleThatAnotherOracleLoadedPastIsFencedAndNeverIssuesInsideTheNewWindow()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_000));
        var deposed = new TimestampOracle(_kv, time, _options);
        await deposed.InitTimestampAsync();
        var before = await deposed.GenerateTsoAsync(10);

        // A second oracle loads the saved window (a failover while the first still believes it is active).
        var successor = new TimestampOracle(_kv, time, _options);
        await successor.InitTimestampAsync();
        var after = await successor.GenerateTsoAsync(1);
        Assert.True(after.Value > before.Value + 10);

        // The first can no longer extend its window: the save is fenced and it stops issuing.
        time.Advance(TimeSpan.FromMilliseconds(_options.SaveIntervalMs));
        await Assert.ThrowsAsync<TsoFencedException>(() => deposed.UpdateTimestampAsync());
        Assert.False(deposed.IsReady);
        await Assert.ThrowsAsync<TsoNotReadyException>(async () => await deposed.GenerateTsoAsync(1));
        Assert.True((await successor.GenerateTsoAsync(1)).Value > after.Value);
    }

    [Fact]
    public async Task AnIdAllocatorThatAnotherAllocatorLoadedPastIsFencedBeforeItsRangesOverlap()
    {
        var deposed = new GlobalIdAllocator(_kv, TimeProvider.System, _options);
        await deposed.InitAsync();
        var first = await deposed.AllocAsync(1);
        var successor = new GlobalIdAllocator(_kv, TimeProvider.System, _options);
        await successor.InitAsync();
        var successorRange = await successor.AllocAsync(1);
        Assert.True(successorRange.Begin >= deposed.SavedHighWater);

        // Draining the rest of its window forces the deposed allocator to extend the mark, which is fenced.
        var issued = new List<IdRange> { first };
        await Assert.ThrowsAsync<TsoFencedException>(async () =>
        {
            while (true)
            {
                issued.Add(await deposed.AllocAsync(GlobalIdAllocator.MaxCount));
            }
        });
        Assert.All(issued, range => Assert.True(range.End <= successorRange.Begin));
        Assert.False(deposed.IsReady);
    }

    private TsoComponent NewComponent(string address) => new(
        new TimestampOracle(_kv, TimeProvider.System, _options), new GlobalIdAllocator(_kv, TimeProvider.System, _options),
        NullLogger<TsoComponent>.Instance, new SessionFactory(_kv, 60, address));

    /// <summary>The host's life cycle: Init, Start, then Register, which runs the election.</summary>
    private static async Task StartAsync(TsoComponent component)
    {
        await component.InitAsync(CancellationToken.None);
        await component.StartAsync(CancellationToken.None);
        Assert.Equal(StateCode.Initializing, component.Tracker.State);
        await component.RegisterAsync(CancellationToken.None);
    }
}
