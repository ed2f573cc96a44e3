using System.Net;
using System.Net.Http.Json;
using Milvus.Tests.Api;

namespace Milvus.Tests.MsgStream.Api;

/// <summary>
/// Milvus's TtMsgStream seek over HTTP, on a gateway whose own time tick is off: the client writes the ticks itself as
/// typed TimeTick msgs, so every timestamp is the scenario's.
/// </summary>
public sealed class SeekScenarioTests
{
    [Fact]
    public async Task ASeekOverHttpAppliesEachChannelsOwnPosition()
    {
        using var gateway = new GatewayFactory(new Dictionary<string, string?> { ["Milvus:TimeTick:Enabled"] = "false" });
        var api = new MsgStreamApiClient(gateway.CreateClient());
        string[] channels = ["scenario-s1", "scenario-s2"];
        await api.CreateChannelsAsync(channels);
        static object Msg(long id, uint key, ulong endTs, ulong? beginTs = null) =>
            new { msgType = "Search", id, hashKeys = new[] { key }, beginTs = beginTs ?? endTs, endTs, payload = "" };
        static object Tick(ulong ts) => new { msgType = "TimeTick", beginTs = ts, endTs = ts, timeTick = new { sourceId = 1 } };

        // m1(s1,100), tick 150, m2(s1, 120..250), m6(s1,190), m3(s2,180), tick 200, m4(s1,260), m5(s2,220), tick 300.
        // Consumed tick by tick, since a consume joins the packs that are ready into one answer.
        await api.ProduceAsync(channels, [Msg(1, 0, 100)]);
        await api.ProduceAsync(channels, [Tick(150)], "broadcast");
        var packs = await api.ConsumeUntilAsync(channels, "scenario-first", msgs => msgs.Count >= 1);
        await api.ProduceAsync(channels, [Msg(2, 0, 250, beginTs: 120), Msg(6, 0, 190), Msg(3, 1, 180)]);
        await api.ProduceAsync(channels, [Tick(200)], "broadcast");
        packs.AddRange(await api.ConsumeUntilAsync(channels, "scenario-first", msgs => msgs.Count >= 2));
        await api.ProduceAsync(channels, [Msg(4, 0, 260), Msg(5, 1, 220)]);
        await api.ProduceAsync(channels, [Tick(300)], "broadcast");
        packs.AddRange(await api.ConsumeUntilAsync(channels, "scenario-first", msgs => msgs.Count >= 3));

        var seek = await api.Http.PostAsJsonAsync("/api/v1/msgstream/seek",
            new { subName = "scenario-resumed", channels, positions = new[] { packs[0].EndPositions[0], packs[1].EndPositions[1] } });
        var resumed = await api.ConsumeUntilAsync(channels, "scenario-resumed", msgs => msgs.Count >= 4);

        Assert.Equal([150UL, 200UL, 300UL], packs.Select(p => p.EndTs));
        Assert.Equal(HttpStatusCode.NoContent, seek.StatusCode);
        Assert.Equal([2L, 6L, 4L, 5L], resumed.SelectMany(p => p.Msgs).Select(m => m.Id));
    }

    [Fact]
    public async Task ASeekToMsgIdZeroOrToAChannelItDoesNotReadIsA400NamingIt()
    {
        using var gateway = new GatewayFactory();
        var api = new MsgStreamApiClient(gateway.CreateClient());
        string[] channels = ["zero-seek"];
        await api.CreateChannelsAsync(channels);

        using var zero = await api.Http.PostAsJsonAsync("/api/v1/msgstream/seek",
            new { subName = "zero-sub", channels, positions = new[] { new { channelName = "zero-seek", msgId = 0 } } });
        using var foreign = await api.Http.PostAsJsonAsync("/api/v1/msgstream/seek",
            new { subName = "zero-sub", channels, positions = new[] { new { channelName = "elsewhere", msgId = 5 } } });

        var zeroProblem = await GatewayBasicsTests.AssertProblem(zero, HttpStatusCode.BadRequest);
        Assert.Contains("msgId 0", zeroProblem.GetRawText(), StringComparison.Ordinal);
        var foreignProblem = await GatewayBasicsTests.AssertProblem(foreign, HttpStatusCode.BadRequest);
        Assert.Contains("elsewhere", foreignProblem.GetRawText(), StringComparison.Ordinal);
    }
}
