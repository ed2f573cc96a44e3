using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Milvus.Domain.Channels;
using Milvus.Domain.Components;
using Milvus.Domain.Kv.Memory;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;
using Milvus.Domain.MsgStream;
using Milvus.Domain.Tso;
using Milvus.Tests.Api;
using Milvus.Tests.Mq.RocksMq;
using Milvus.Tests.MsgStream.Api;
using Milvus.Workers.TimeTick;

namespace Milvus.Tests.Components;

/// <summary>
/// The channels the gateway writes into itself: the statistics channel of the seed's <c>GetStatisticsChannel</c>,
/// and the time tick channel of its <c>TimeTickProvider</c>.
/// </summary>
public sealed class GatewayChannelsTests
{
    [Fact]
    public async Task TheGatewayPublishesItsStatisticsOnTheChannelItsComponentsName()
    {
        using var gateway = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Statistics:IntervalMs"] = "50",
            ["Milvus:Statistics:Channel"] = "stats",
        });
        var api = new MsgStreamApiClient(gateway.CreateClient());
        var registry = gateway.Services.GetRequiredService<ComponentRegistry>();

        using var states = JsonDocument.Parse(await api.Http.GetStringAsync("/api/v1/components/states"));
        var packs = await api.ConsumeUntilAsync(["stats"], "reader", msgs => msgs.Count(m => m.MsgType == "QueryNodeStats") >= 2, timeTickAligned: false);
        var published = packs.SelectMany(p => p.Msgs).Where(m => m.MsgType == "QueryNodeStats").ToList();
        var first = JsonDocument.Parse(published[0].Payload!).RootElement;
        var second = JsonDocument.Parse(published[1].Payload!).RootElement;

        var root = states.RootElement.GetProperty("state");
        Assert.Contains(root.GetProperty("extraInfo").EnumerateArray(), e => e.GetProperty("key").GetString() == "statisticsChannel" && e.GetProperty("value").GetString() == "stats");
        foreach (var component in registry.Components)
        {
            Assert.Equal("stats", await component.GetStatisticsChannelAsync(CancellationToken.None));
        }
        var nodeId = root.GetProperty("nodeId").GetInt64();
        Assert.NotEqual(0, nodeId);
        Assert.Equal(nodeId, first.GetProperty("nodeId").GetInt64());
        Assert.Equal([(uint)nodeId], published[0].HashKeys);
        Assert.True(second.GetProperty("timeMs").GetInt64() > first.GetProperty("timeMs").GetInt64());
        Assert.True(published[1].EndTs > published[0].EndTs, "each publish has its own TSO timestamp");
        Assert.Equal("Healthy", first.GetProperty("stateCode").GetString());
        var roles = first.GetProperty("components").EnumerateArray().ToDictionary(c => c.GetProperty("role").GetString()!, c => c.GetProperty("stateCode").GetString());
        Assert.Equal("Healthy", roles["timetick"]);
        Assert.Equal("Healthy", roles["session"]);
        Assert.True(first.GetProperty("process").GetProperty("workingSetBytes").GetInt64() > 0);
        Assert.Equal("gateway", await DescribeOwnerAsync(api.Http, "stats"));
    }

    [Fact]
    public async Task TheTickerWritesEveryTickIntoItsTimeTickChannelAndMakesItAgainWhenDestroyed()
    {
        using var gateway = new GatewayFactory(new Dictionary<string, string?> { ["Milvus:TimeTick:IntervalMs"] = "20" });
        var client = gateway.CreateClient();
        var mq = gateway.Services.GetRequiredService<IMqClient>();
        var component = gateway.Services.GetRequiredService<TimeTickComponent>();
        ITimeTickProvider provider = component;
        var channel = await provider.GetTimeTickChannelAsync(CancellationToken.None);

        var states = await component.GetComponentStatesAsync(CancellationToken.None);
        await mq.CreateConsumerGroupAsync(channel, "reader", MqStartPosition.Earliest);
        var ticks = await ReadTicksAsync(mq, channel, "reader", 5);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsJsonAsync("/api/v1/channels/destroy", new { channelNames = new[] { channel } })).StatusCode);
        await MsgStreamApiClient.WaitUntilAsync(() => mq.ChannelExistsAsync(channel).GetAwaiter().GetResult(), "the ticker makes its channel again");
        await mq.CreateConsumerGroupAsync(channel, "after", MqStartPosition.Earliest);
        var later = await ReadTicksAsync(mq, channel, "after", 2);

        Assert.Equal(TimeTickOptions.DefaultChannel, channel);
        Assert.Contains(states.State.ExtraInfo, e => e.Key == "timeTickChannel" && e.Value == channel);
        Assert.Equal(ticks.Order(), ticks);
        Assert.Equal(ticks.Count, ticks.Distinct().Count());
        Assert.True(later[0] > ticks[^1]);
        Assert.True(component.LastTick >= later[^1]);
        Assert.True(await mq.ConsumerGroupExistsAsync(channel, GatewayChannel.KeeperGroup));
        Assert.Equal("timetick", await DescribeOwnerAsync(client, channel));
    }

    [Fact]
    public async Task TheKeeperGroupLetsRetentionFreeWhatTheGatewayWrote()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_000));
        await using var host = await RocksMqHost.StartAsync(new RocksMqOptions { PageSize = 1000, RetentionTimeInMinutes = 0, RetentionSizeInMB = -1 }, time);
        var meta = new MemoryKv();
        var channels = new ChannelService(host.Mq, meta, new GlobalIdAllocator(meta, time, new TsoOptions()), NullLogger<ChannelService>.Instance);
        var own = new GatewayChannel("own", new OwnerDescription("test", "", ""), channels, host.Mq, time);

        await own.EnsureAsync(CancellationToken.None);
        for (var i = 0; i < 30; i++)
        {
            await host.Mq.ProduceAsync("own", [new byte[100]]);
            await own.KeepAsync(CancellationToken.None);
        }
        var beforeKeep = await host.Mq.RunRetentionAsync();
        time.Advance(GatewayChannel.KeepEvery);
        await own.KeepAsync(CancellationToken.None);
        var afterKeep = await host.Mq.RunRetentionAsync();

        Assert.Equal(0, beforeKeep.Pages);
        Assert.True(afterKeep.Messages > 0, "nothing was freed once the keeper group had moved");
        Assert.Empty(await host.Mq.ConsumeAsync("own", GatewayChannel.KeeperGroup, 100));
    }

    private static async Task<List<ulong>> ReadTicksAsync(IMqClient mq, string channel, string group, int count)
    {
        var dispatcher = new UnmarshalDispatcher();
        var ticks = new List<ulong>();
        await MsgStreamApiClient.WaitUntilAsync(() =>
        {
            foreach (var message in mq.ConsumeAsync(channel, group, 100).GetAwaiter().GetResult())
            {
                ticks.Add(Assert.IsType<TimeTickMsg>(dispatcher.Unmarshal(message.Payload)).EndTs);
            }
            return ticks.Count >= count;
        }, $"{count} ticks arrive on {channel}");
        return ticks;
    }

    private static async Task<string> DescribeOwnerAsync(HttpClient client, string channel)
    {
        using var response = await client.PostAsJsonAsync("/api/v1/channels/describe", new { channelNames = new[] { channel } });
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("descriptions")[0].GetProperty("owner").GetProperty("role").GetString()!;
    }
}
