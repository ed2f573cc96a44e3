using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Milvus.Domain.Components;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Tests.Api;
using Milvus.Workers.TimeTick;

namespace Milvus.Tests.MsgStream.Api;

/// <summary>The gateway's time tick worker: external producers' minimum, and switched off.</summary>
public sealed class TimeTickWorkerTests
{
    private const string ProviderChannel = "external-tt";

    [Fact]
    public async Task TicksNeverPassTheLowestTickAnExternalProviderReported()
    {
        using var gateway = new GatewayFactory(new Dictionary<string, string?> { ["Milvus:TimeTick:IntervalMs"] = "10" });
        using var factory = gateway.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<ITimeTickProvider, ExternalProvider>()));
        var api = new MsgStreamApiClient(factory.CreateClient());
        var mq = factory.Services.GetRequiredService<IMqClient>();
        var component = factory.Services.GetRequiredService<TimeTickComponent>();
        string[] channels = ["ext-0"];
        await api.CreateChannelsAsync(channels);
        var first = (await api.ProduceAsync(channels, [MsgStreamApiClient.Msg("first", 0)]))[0].Timestamp;
        var second = (await api.ProduceAsync(channels, [MsgStreamApiClient.Msg("second", 0)]))[0].Timestamp;

        // Before the provider reports, the gateway sends no tick at all; a bounded wait sees nothing.
        var silent = await api.ConsumeAsync(channels, "ext", waitMs: 300);
        var ticksBeforeReport = component.TicksSent;
        await mq.ProduceAsync(ProviderChannel, [TimeTickMsg.At(first).Marshal()]);
        await MsgStreamApiClient.WaitUntilAsync(() => component.LastTick == first, "the gateway ticks at the provider's tick");
        var upToFirst = await api.ConsumeUntilAsync(channels, "ext", msgs => msgs.Count >= 1);
        var heldBack = await api.ConsumeAsync(channels, "ext", waitMs: 300);
        var lastTickWhileHeld = component.LastTick;
        await mq.ProduceAsync(ProviderChannel, [TimeTickMsg.At(second + 1000).Marshal()]);
        var rest = await api.ConsumeUntilAsync(channels, "ext", msgs => msgs.Count >= 1);

        Assert.Empty(silent.Msgs);
        Assert.Equal(0UL, silent.EndTs);
        Assert.Equal(0, ticksBeforeReport);
        Assert.Equal(["first"], upToFirst.SelectMany(p => p.Msgs).Select(m => m.Text));
        Assert.Equal(first, upToFirst[^1].EndTs);
        Assert.Empty(heldBack.Msgs);
        Assert.Equal(first, lastTickWhileHeld);
        Assert.Equal(["second"], rest.SelectMany(p => p.Msgs).Select(m => m.Text));
        Assert.True(rest[^1].EndTs <= second + 1000);
        var states = await component.GetComponentStatesAsync(CancellationToken.None);
        Assert.Contains(states.State.ExtraInfo, e => e.Key == "providers" && e.Value == ProviderChannel);
    }

    [Fact]
    public async Task WithTicksDisabledTheGatewaySendsNone()
    {
        using var gateway = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:TimeTick:Enabled"] = "false",
            ["Milvus:TimeTick:IntervalMs"] = "10",
        });
        var api = new MsgStreamApiClient(gateway.CreateClient());
        string[] channels = ["off-0"];
        await api.CreateChannelsAsync(channels);
        await api.ProduceAsync(channels, [MsgStreamApiClient.Msg("only", 0)]);

        var plain = await api.ConsumeUntilAsync(channels, "off", msgs => msgs.Count >= 1, timeTickAligned: false);
        var after = await api.ConsumeAsync(channels, "off", timeTickAligned: false, waitMs: 300);
        var aligned = await api.ConsumeAsync(channels, "off-aligned", waitMs: 300);
        var component = gateway.Services.GetRequiredService<TimeTickComponent>();
        using var states = JsonDocument.Parse(await api.Http.GetStringAsync("/api/v1/components/states"));

        Assert.Equal(["only"], plain.SelectMany(p => p.Msgs).Select(m => m.Text));
        Assert.Empty(after.Msgs);
        Assert.Empty(aligned.Msgs);
        Assert.Equal(0, component.TicksSent);
        Assert.Contains("\"timetick\"", states.RootElement.GetRawText(), StringComparison.Ordinal);
    }

    private sealed class ExternalProvider : ITimeTickProvider
    {
        public Task<string> GetTimeTickChannelAsync(CancellationToken cancellationToken) => Task.FromResult(ProviderChannel);
    }
}
