using Microsoft.Extensions.Logging.Abstractions;
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

    private TsoComponent NewComponent(string address) => new(
        new TimestampOracle(_kv, TimeProvider.System, _options), new GlobalIdAllocator(_kv, TimeProvider.System, _options),
        NullLogger<TsoComponent>.Instance, new SessionFactory(_kv, 60, address));

    private static async Task StartAsync(TsoComponent component)
    {
        await component.InitAsync(CancellationToken.None);
        await component.StartAsync(CancellationToken.None);
    }
}
