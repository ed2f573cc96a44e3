using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Milvus.Domain.Components;
using Milvus.Domain.Tso;
using Milvus.Workers.Tso;

namespace Milvus.Tests.Tso;

public sealed class TsoComponentTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_000));
    private readonly FaultyKv _kv = new();
    private readonly TsoComponent _component;

    public TsoComponentTests()
    {
        var options = new TsoOptions();
        _component = new TsoComponent(new TimestampOracle(_kv, _time, options), new GlobalIdAllocator(_kv, _time, options), NullLogger<TsoComponent>.Instance);
    }

    private async Task StartComponentAsync()
    {
        await _component.InitAsync(CancellationToken.None);
        await _component.StartAsync(CancellationToken.None);
    }

    [Fact]
    public async Task TheUpdaterMovesTheOracleToTheWallClockOnEachTick()
    {
        await StartComponentAsync();
        using var service = new TsoUpdateService(_component, Options.Create(new TsoOptions { UpdateIntervalMs = 50 }), _time);
        await service.StartAsync(CancellationToken.None);

        for (var tick = 1; tick <= 3; tick++)
        {
            var updated = _component.Oracle.NextUpdate;
            _time.Advance(TimeSpan.FromMilliseconds(50));
            await updated.WaitAsync(Patience);

            Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds(), _component.Oracle.PhysicalMs);
        }
        await service.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task TheComponentReportsRoleTsoAndTurnsAbnormalWhileTheStoreCannotSave()
    {
        await StartComponentAsync();
        Assert.Equal(StateCode.Healthy, _component.Tracker.State);

        _time.Advance(TimeSpan.FromHours(1));
        _kv.FailSaves = true;
        await _component.TickAsync(CancellationToken.None);
        var states = await _component.GetComponentStatesAsync(CancellationToken.None);

        Assert.Equal("tso", states.State.Role);
        Assert.Equal(StateCode.Abnormal, states.State.StateCode);
        Assert.Contains(states.State.ExtraInfo, e => e.Key == "reason" && e.Value.Contains("unavailable", StringComparison.Ordinal));

        _kv.FailSaves = false;
        await _component.TickAsync(CancellationToken.None);

        Assert.Equal(StateCode.Healthy, _component.Tracker.State);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds(), _component.Oracle.PhysicalMs);
    }

    [Fact]
    public async Task AComponentWhoseLoadFailedAtInitLoadsOnALaterTick()
    {
        _kv.FailLoads = true;
        await Assert.ThrowsAnyAsync<Exception>(() => _component.InitAsync(CancellationToken.None));
        Assert.Equal(StateCode.Abnormal, _component.Tracker.State);
        Assert.False(_component.Oracle.IsReady);

        _kv.FailLoads = false;
        await _component.TickAsync(CancellationToken.None);

        Assert.Equal(StateCode.Healthy, _component.Tracker.State);
        Assert.True(_component.Oracle.IsReady);
        Assert.True(_component.Ids.IsReady);
    }
}
