using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream.Gateway;
using Milvus.Domain.MsgStream.Streams;
using Milvus.Tests.Api;
using Milvus.Workers.Jobs;
using Milvus.Workers.MsgStream;
using Milvus.Workers.TimeTick;

namespace Milvus.Tests.MsgStream.Api;

/// <summary>The msgstream routes on a gateway with its own time ticks every 10 ms, over its embedded RocksMQ.</summary>
public sealed class MsgStreamApiTests(MsgStreamApiTests.Fixture fixture) : IClassFixture<MsgStreamApiTests.Fixture>
{
    private readonly MsgStreamApiClient _api = new(fixture.Factory.CreateClient());

    public sealed class Fixture : IDisposable
    {
        public GatewayFactory Factory { get; } = new(new Dictionary<string, string?>
        {
            ["Milvus:TimeTick:IntervalMs"] = "10",
            ["Milvus:MsgStream:MaxSubscriptions"] = "64",
        });

        public void Dispose() => Factory.Dispose();
    }

    [Fact]
    public async Task TenThousandMsgsFromEightConcurrentProducersArriveOnceInContiguousAlignedPacksThatContainThem()
    {
        string[] channels = ["many-0", "many-1", "many-2"];
        await _api.CreateChannelsAsync(channels);
        const int producers = 8, perProducer = 1250, batch = 125;
        var produced = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            var positions = 0;
            for (var start = 0; start < perProducer; start += batch)
            {
                var msgs = Enumerable.Range(start, batch).Select(i => MsgStreamApiClient.Msg($"p{p}-{i}", (uint)(p * perProducer + i)));
                positions += (await _api.ProduceAsync(channels, msgs)).Length;
            }
            return positions;
        })).ToArray();

        var packs = new List<WirePack>();
        var received = 0;
        var clock = Stopwatch.StartNew();
        while (received < producers * perProducer)
        {
            Assert.True(clock.Elapsed < MsgStreamApiClient.Timeout, $"Only {received} msgs arrived in time.");
            var pack = await _api.ConsumeAsync(channels, "many", waitMs: 500);
            if (pack.EndTs != 0)
            {
                packs.Add(pack);
                received += pack.Msgs.Length;
            }
        }

        Assert.All(await Task.WhenAll(produced), count => Assert.Equal(perProducer, count));
        var texts = packs.SelectMany(p => p.Msgs).Select(m => m.Text).ToList();
        Assert.Equal(producers * perProducer, texts.Count);
        Assert.Equal(producers * perProducer, texts.Distinct().Count());
        Assert.Equal(0UL, packs[0].BeginTs);
        for (var i = 0; i < packs.Count; i++)
        {
            var pack = packs[i];
            Assert.True(pack.BeginTs < pack.EndTs);
            if (i > 0)
            {
                Assert.Equal(packs[i - 1].EndTs, pack.BeginTs);
            }
            Assert.All(pack.Msgs, m => Assert.True(m.EndTs > pack.BeginTs && m.EndTs <= pack.EndTs, $"msg at {m.EndTs} outside ({pack.BeginTs}, {pack.EndTs}]"));
            Assert.All(pack.Msgs, m => Assert.Equal("Search", m.MsgType));
        }
        var component = fixture.Factory.Services.GetRequiredService<TimeTickComponent>();
        Assert.True(component.LastTick >= packs[^1].EndTs);
        var metrics = await _api.Http.GetStringAsync("/metrics");
        Assert.Contains("milvus_timetick_lag_seconds", metrics, StringComparison.Ordinal);
        Assert.Contains("many-1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProducePositionsFollowTheRequestOrderAndTheKeysPickTheChannels()
    {
        string[] channels = ["order-0", "order-1"];
        await _api.CreateChannelsAsync(channels);

        var positions = await _api.ProduceAsync(channels, [MsgStreamApiClient.Msg("a", 1), MsgStreamApiClient.Msg("b", 0), MsgStreamApiClient.Msg("c", 3)]);
        var broadcast = await _api.ProduceAsync(channels, [MsgStreamApiClient.Msg("all", 0)], "broadcast");

        Assert.Equal(["order-1", "order-0", "order-1"], positions.Select(p => p.ChannelName));
        Assert.True(positions[0].Timestamp < positions[1].Timestamp && positions[1].Timestamp < positions[2].Timestamp);
        Assert.Equal(channels, broadcast.Select(p => p.ChannelName));
        var packs = await _api.ConsumeUntilAsync(["order-1"], "order", msgs => msgs.Count >= 3);
        Assert.Equal(["a", "c", "all"], packs.SelectMany(p => p.Msgs).Select(m => m.Text));
    }

    [Fact]
    public async Task SubscribingAtLatestSeesOnlyMsgsProducedAfterwards()
    {
        string[] channels = ["late-0", "late-1"];
        await _api.CreateChannelsAsync(channels);
        await _api.ProduceAsync(channels, [MsgStreamApiClient.Msg("before", 0), MsgStreamApiClient.Msg("before", 1)]);

        await _api.ConsumeAsync(channels, "late", waitMs: 0, position: "latest");
        await _api.ProduceAsync(channels, [MsgStreamApiClient.Msg("after", 0), MsgStreamApiClient.Msg("after", 1)]);
        var packs = await _api.ConsumeUntilAsync(channels, "late", msgs => msgs.Count >= 2);

        Assert.Equal(["after", "after"], packs.SelectMany(p => p.Msgs).Select(m => m.Text));
    }

    [Fact]
    public async Task SeekOverHttpResumesFromAPacksStartWithTimeTickedSemantics()
    {
        string[] channels = ["seek-0", "seek-1"];
        await _api.CreateChannelsAsync(channels);
        var component = fixture.Factory.Services.GetRequiredService<TimeTickComponent>();
        var all = new List<WirePack>();
        for (var round = 0; round < 3; round++)
        {
            var positions = await _api.ProduceAsync(channels, [MsgStreamApiClient.Msg($"r{round}-a", 0), MsgStreamApiClient.Msg($"r{round}-b", 1)]);
            // Once a tick covers this round, the next round lands in a later pack.
            var last = positions.Max(p => p.Timestamp);
            await MsgStreamApiClient.WaitUntilAsync(() => component.LastTick >= last, $"a tick covers round {round}");
            all.AddRange(await _api.ConsumeUntilAsync(channels, "seek-all", msgs => msgs.Count >= 2));
        }
        var second = all.First(p => p.Msgs.Any(m => m.Text.StartsWith("r1", StringComparison.Ordinal)));

        var seek = await _api.Http.PostAsJsonAsync("/api/v1/msgstream/seek", new { subName = "seek-again", channels, positions = second.StartPositions });
        var resumed = await _api.ConsumeUntilAsync(channels, "seek-again", msgs => msgs.Count >= 4);

        Assert.Equal(HttpStatusCode.NoContent, seek.StatusCode);
        var expected = all.SkipWhile(p => p != second).SelectMany(p => p.Msgs).Select(m => m.Text).Order().ToArray();
        Assert.Equal(["r1-a", "r1-b", "r2-a", "r2-b"], expected);
        Assert.Equal(expected, resumed.SelectMany(p => p.Msgs).Select(m => m.Text).Order());
        Assert.All(resumed.SelectMany(p => p.Msgs), m => Assert.True(m.EndTs > second.BeginTs));
    }

    [Fact]
    public async Task UnknownChannelsAre404AndAreNotCreated()
    {
        var produce = await _api.Http.PostAsJsonAsync("/api/v1/msgstream/produce", new { channels = new[] { "ghost" }, msgs = new[] { MsgStreamApiClient.Msg("x", 0) } });
        var consume = await _api.Http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels = new[] { "ghost" }, subName = "ghost-sub", timeTickAligned = true });
        var subscribe = await _api.Http.GetAsync("/api/v1/msgstream/subscribe?channels=ghost");
        var delete = await _api.Http.DeleteAsync("/api/v1/msgstream/subscriptions/ghost-sub");

        await GatewayBasicsTests.AssertProblem(produce, HttpStatusCode.NotFound);
        await GatewayBasicsTests.AssertProblem(consume, HttpStatusCode.NotFound);
        await GatewayBasicsTests.AssertProblem(subscribe, HttpStatusCode.NotFound);
        await GatewayBasicsTests.AssertProblem(delete, HttpStatusCode.NotFound);
        var mq = fixture.Factory.Services.GetRequiredService<IMqClient>();
        Assert.False(await mq.ChannelExistsAsync("ghost"));
    }

    [Fact]
    public async Task InvalidRequestsAre400sThatWriteNothing()
    {
        string[] channels = ["valid-0"];
        await _api.CreateChannelsAsync(channels);
        object[] bad =
        [
            new { channels = Array.Empty<string>(), msgs = new[] { MsgStreamApiClient.Msg("x", 0) } },
            new { channels = new[] { "bad name" }, msgs = new[] { MsgStreamApiClient.Msg("x", 0) } },
            new { channels = new[] { "valid-0", "valid-0" }, msgs = new[] { MsgStreamApiClient.Msg("x", 0) } },
            new { channels = Enumerable.Range(0, 1025).Select(i => $"c{i}").ToArray(), msgs = new[] { MsgStreamApiClient.Msg("x", 0) } },
            new { channels, msgs = Array.Empty<object>() },
            new { channels, msgs = Enumerable.Range(0, 10_001).Select(i => MsgStreamApiClient.Msg("x", 0)).ToArray() },
            new { channels, msgs = new[] { MsgStreamApiClient.Msg("ok", 0), MsgStreamApiClient.Msg("x", 0, "Bogus") } },
            new { channels, msgs = new[] { MsgStreamApiClient.Msg("x", 0, "400") } },
            new { channels, msgs = new[] { MsgStreamApiClient.Msg("x", 0, "Undefined") } },
            new { channels, msgs = new object[] { new { msgType = "Search", hashKeys = new[] { 0 }, beginTs = 9, endTs = 5 } } },
            new { channels, msgs = new object[] { new { msgType = "Search" } } },
            new { channels, msgs = new object[] { new { msgType = "Insert", payload = Convert.ToBase64String([0xff, 0xff, 0xff]) } } },
            new { channels, msgs = new object[] { new { msgType = "Insert", hashKeys = new[] { 1 }, insert = new { rows = new[] { new { hashKey = 2 } } } } } },
            new { channels, msgs = new object[] { new { msgType = "Insert", hashKeys = new[] { 0 }, payload = "", insert = new { rows = new[] { new { hashKey = 0 } } } } } },
            new { channels, msgs = new object[] { new { msgType = "Delete", insert = new { rows = new[] { new { hashKey = 0 } } } } } },
            new { channels, msgs = new object[] { new { msgType = "Search", hashKeys = new[] { 0 }, flush = new { } } } },
            new { channels, msgs = new object[] { new { msgType = "Insert", insert = new { rows = Array.Empty<object>() } } } },
            new { channels, msgs = new object[] { new { msgType = "Delete", delete = new { rows = new object?[] { null } } } } },
        ];

        foreach (var body in bad)
        {
            await GatewayBasicsTests.AssertProblem(await _api.Http.PostAsJsonAsync("/api/v1/msgstream/produce", body), HttpStatusCode.BadRequest);
        }
        await GatewayBasicsTests.AssertProblem(
            await _api.Http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels, subName = "bad sub" }), HttpStatusCode.BadRequest);
        await GatewayBasicsTests.AssertProblem(
            await _api.Http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels, subName = "v", waitMs = -1 }), HttpStatusCode.BadRequest);
        await GatewayBasicsTests.AssertProblem(
            await _api.Http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels, subName = "v", position = "middle" }), HttpStatusCode.BadRequest);
        await GatewayBasicsTests.AssertProblem(
            await _api.Http.PostAsJsonAsync("/api/v1/msgstream/seek", new { channels, subName = "v", positions = Array.Empty<object>() }), HttpStatusCode.BadRequest);
        await GatewayBasicsTests.AssertProblem(await _api.Http.GetAsync("/api/v1/msgstream/subscribe?channels=a,,b%20c"), HttpStatusCode.BadRequest);

        var mq = fixture.Factory.Services.GetRequiredService<IMqClient>();
        Assert.Null(await mq.GetLatestMsgIdAsync("valid-0"));
        Assert.DoesNotContain("valid-0", await fixture.Factory.Services.GetRequiredService<GatewayProducer>().Ticked.ListAsync());
        Assert.False(fixture.Factory.Services.GetRequiredService<StreamSubscriptions>().Contains("v"));
    }

    [Fact]
    public async Task AMsgTypeMayBeGivenByItsNumberAndIsAnsweredByItsName()
    {
        string[] channels = ["numbered-0"];
        await _api.CreateChannelsAsync(channels);

        using var byNumber = await _api.Http.PostAsJsonAsync("/api/v1/msgstream/produce",
            new { channels, msgs = new[] { new { msgType = 500, hashKeys = new[] { 0 }, payload = Convert.ToBase64String("n"u8.ToArray()) } } });
        using var unknown = await _api.Http.PostAsJsonAsync("/api/v1/msgstream/produce",
            new { channels, msgs = new[] { new { msgType = 7, hashKeys = new[] { 0 }, payload = "" } } });
        var packs = await _api.ConsumeUntilAsync(channels, "numbered", msgs => msgs.Count >= 1, timeTickAligned: false);

        Assert.Equal(HttpStatusCode.OK, byNumber.StatusCode);
        await GatewayBasicsTests.AssertProblem(unknown, HttpStatusCode.BadRequest);
        var msg = Assert.Single(packs.SelectMany(p => p.Msgs), m => m.MsgType != "TimeTick");
        Assert.Equal("Search", msg.MsgType);
        Assert.Equal("n", msg.Text);
    }

    [Fact]
    public async Task DeletingASubscriptionFreesItsNameAndASecondDeleteIs404()
    {
        await _api.CreateChannelsAsync("del-0", "del-1");
        await _api.ConsumeAsync(["del-0"], "del", waitMs: 0);
        var conflict = await _api.Http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels = new[] { "del-1" }, subName = "del", timeTickAligned = true });

        var deleted = await _api.Http.DeleteAsync("/api/v1/msgstream/subscriptions/del");
        var again = await _api.Http.DeleteAsync("/api/v1/msgstream/subscriptions/del");
        var reopened = await _api.Http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels = new[] { "del-1" }, subName = "del", timeTickAligned = true });

        await GatewayBasicsTests.AssertProblem(conflict, HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await GatewayBasicsTests.AssertProblem(again, HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, reopened.StatusCode);
        var mq = fixture.Factory.Services.GetRequiredService<IMqClient>();
        Assert.False(await mq.ConsumerGroupExistsAsync("del-0", "del"));
        Assert.True(await mq.ConsumerGroupExistsAsync("del-1", "del"));
    }

    [Fact]
    public async Task ServerSentEventsDeliverPacksAndEndTheSubscriptionWhenTheClientLeaves()
    {
        string[] channels = ["sse-0", "sse-1"];
        await _api.CreateChannelsAsync(channels);
        var subscriptions = fixture.Factory.Services.GetRequiredService<StreamSubscriptions>();
        var received = new List<WireMsg>();
        var packs = new List<WirePack>();
        using (var response = await _api.Http.GetAsync("/api/v1/msgstream/subscribe?channels=sse-0,sse-1&subName=sse", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            Assert.True(subscriptions.Contains("sse"));
            var busy = await _api.Http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels, subName = "sse", timeTickAligned = true });
            await GatewayBasicsTests.AssertProblem(busy, HttpStatusCode.Conflict);

            await _api.ProduceAsync(channels, [MsgStreamApiClient.Msg("s1", 0), MsgStreamApiClient.Msg("s2", 1), MsgStreamApiClient.Msg("s3", 2)]);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            using var timeout = new CancellationTokenSource(MsgStreamApiClient.Timeout);
            string? eventName = null;
            while (received.Count < 3)
            {
                var line = await reader.ReadLineAsync(timeout.Token);
                Assert.NotNull(line);
                if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    eventName = line["event:".Length..].Trim();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    Assert.Equal("msgpack", eventName);
                    var pack = JsonSerializer.Deserialize<WirePack>(line["data:".Length..], JsonSerializerOptions.Web)!;
                    packs.Add(pack);
                    received.AddRange(pack.Msgs);
                }
            }
        }

        Assert.Equal(["s1", "s2", "s3"], received.Select(m => m.Text).Order());
        Assert.All(packs.Skip(1).Zip(packs), p => Assert.Equal(p.Second.EndTs, p.First.BeginTs));
        await MsgStreamApiClient.WaitUntilAsync(() => !subscriptions.Contains("sse"), "the SSE subscription ends");
    }

    [Fact]
    public async Task IdleSubscriptionsExpireThroughTheSweepJob()
    {
        await _api.CreateChannelsAsync("idle-0");
        var services = fixture.Factory.Services;
        // An hour behind, so that the kept checkpoints of the other tests' subscriptions, saved on the real clock, never
        // look idle to this sweep.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(-1));
        await using var subscriptions = new StreamSubscriptions(
            services.GetRequiredService<MsgStreamFactory>(), services.GetRequiredService<IMqClient>(), services.GetRequiredService<ITxnKv>(), time,
            Options.Create(new StreamSubscriptionOptions { SubscriptionIdleSeconds = 60 }), NullLogger<StreamSubscriptions>.Instance);
        var job = new SubscriptionExpiryJob(subscriptions);
        await subscriptions.ConsumeAsync("idle", ["idle-0"], timeTickAligned: true, MqStartPosition.Earliest, TimeSpan.Zero);
        await subscriptions.ConsumeAsync("busy", ["idle-0"], timeTickAligned: false, MqStartPosition.Earliest, TimeSpan.Zero);

        time.Advance(TimeSpan.FromSeconds(59));
        await job.RunAsync(CancellationToken.None);
        var keptBeforeTimeout = subscriptions.Contains("idle");
        await subscriptions.ConsumeAsync("busy", ["idle-0"], timeTickAligned: false, MqStartPosition.Earliest, TimeSpan.Zero);
        time.Advance(TimeSpan.FromSeconds(2));
        await job.RunAsync(CancellationToken.None);

        Assert.True(keptBeforeTimeout);
        Assert.False(subscriptions.Contains("idle"));
        Assert.True(subscriptions.Contains("busy"));
        Assert.False(await services.GetRequiredService<IMqClient>().ConsumerGroupExistsAsync("idle-0", "idle"));
        Assert.Contains(services.GetServices<IMaintenanceJob>(), j => j.Id == job.Id);
    }

    [Fact]
    public async Task TheSubscriptionLimitIsA503()
    {
        await _api.CreateChannelsAsync("limit-0");
        var subscriptions = fixture.Factory.Services.GetRequiredService<StreamSubscriptions>();
        var opened = new List<string>();
        for (var i = subscriptions.Count; i < 64; i++)
        {
            opened.Add($"limit-{i}");
            await _api.ConsumeAsync(["limit-0"], $"limit-{i}", waitMs: 0);
        }

        var over = await _api.Http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels = new[] { "limit-0" }, subName = "limit-over", timeTickAligned = true });

        await GatewayBasicsTests.AssertProblem(over, HttpStatusCode.ServiceUnavailable);
        foreach (var name in opened)
        {
            Assert.Equal(HttpStatusCode.NoContent, (await _api.Http.DeleteAsync($"/api/v1/msgstream/subscriptions/{name}")).StatusCode);
        }
    }
}
