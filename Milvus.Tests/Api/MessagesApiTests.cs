using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Redis;
using Milvus.Tests.Infrastructure;
using Milvus.Workers.Mq;

namespace Milvus.Tests.Api;

/// <summary>The "Messages on one channel" routes, the same scenarios on every message-queue backend.</summary>
public abstract class MessagesApiScenarios(GatewayFactory factory)
{
    protected const int MaxMessageBytes = 1024;

    protected GatewayFactory Factory { get; } = factory;

    protected HttpClient Client { get; } = factory.CreateClient();

    /// <summary>The gateway settings of these scenarios, with <paramref name="extra"/> on top.</summary>
    public static Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Milvus:Limits:MaxMessageBytes"] = MaxMessageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }
        return settings;
    }

    [Fact]
    public async Task AChannelTakesMessagesThatAGroupConsumesAndSeeksThrough()
    {
        var created = await Client.PutAsync("/api/v1/channels/round", null);
        var duplicate = await Client.PutAsync("/api/v1/channels/round", null);
        var produced = await Client.PostAsJsonAsync("/api/v1/channels/round/messages", new
        {
            messages = new object[] { new { payload = B64("a") }, new { payload = "" }, new { } },
        });
        using var ids = JsonDocument.Parse(await produced.Content.ReadAsStringAsync());
        var group = await Client.PostAsJsonAsync("/api/v1/channels/round/groups", new { groupName = "g" });
        var groupAgain = await Client.PostAsJsonAsync("/api/v1/channels/round/groups", new { groupName = "g", position = "latest" });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await GatewayBasicsTests.AssertProblem(duplicate, HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.Created, produced.StatusCode);
        Assert.Equal(HttpStatusCode.Created, group.StatusCode);
        await GatewayBasicsTests.AssertProblem(groupAgain, HttpStatusCode.Conflict);
        var msgIds = ids.RootElement.GetProperty("msgIds").EnumerateArray().ToList();
        Assert.All(msgIds, id => Assert.Equal(JsonValueKind.Number, id.ValueKind));
        var idList = msgIds.Select(id => id.GetInt64()).ToList();
        // The ids are global allocator ids (RocksMQ) or stream entry ids (Redis): far above a plain counter.
        Assert.All(idList, id => Assert.True(id > 1L << 40, $"{id} is not a global id"));

        var all = await Consume("round", "g", "n=10");
        var none = await Consume("round", "g", "n=10");
        Assert.Equal(idList, all.Select(m => m.MsgId));
        Assert.Equal(["a", "", ""], all.Select(m => m.Text));
        Assert.Empty(none);

        Assert.Equal(HttpStatusCode.NoContent, (await Client.PostAsJsonAsync("/api/v1/channels/round/groups/g/seek", new { msgId = idList[1] })).StatusCode);
        Assert.Equal([idList[1]], (await Consume("round", "g", "")).Select(m => m.MsgId));
        Assert.Equal(HttpStatusCode.NoContent, (await Client.PostAsJsonAsync("/api/v1/channels/round/groups/g/seek", new { position = "earliest" })).StatusCode);
        Assert.Equal([idList[0]], (await Consume("round", "g", "n=1")).Select(m => m.MsgId));
        Assert.Equal(HttpStatusCode.NoContent, (await Client.PostAsJsonAsync("/api/v1/channels/round/groups/g/seek", new { position = "latest" })).StatusCode);
        Assert.Empty(await Consume("round", "g", "n=5"));

        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync("/api/v1/channels/round/groups/g")).StatusCode);
        await GatewayBasicsTests.AssertProblem(await Client.DeleteAsync("/api/v1/channels/round/groups/g"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task BadRequestsGetA4xxProblemAndChangeNothing()
    {
        Assert.Equal(HttpStatusCode.Created, (await Client.PutAsync("/api/v1/channels/steady", null)).StatusCode);
        var first = await Client.PostAsJsonAsync("/api/v1/channels/steady/messages", new { messages = new[] { new { payload = B64("only") } } });
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Client.PostAsJsonAsync("/api/v1/channels/steady/groups", new { groupName = "watch" })).StatusCode);
        var channelsBefore = await ChannelNames();
        var tooMany = Enumerable.Range(0, 10_001).Select(_ => new { payload = "" }).ToArray();

        var bad = new (Func<Task<HttpResponseMessage>> Send, HttpStatusCode Status)[]
        {
            (() => Client.PutAsync("/api/v1/channels/bad%20name", null), HttpStatusCode.BadRequest),
            (() => Client.PutAsync("/api/v1/channels/a%2Fb", null), HttpStatusCode.BadRequest),
            (() => Client.PutAsJsonAsync("/api/v1/channels/ownerless", new { ownerDescription = new { role = "" } }), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/bad%20name/messages", new { messages = new[] { new { payload = B64("x") } } }), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/unknown/messages", new { messages = new[] { new { payload = B64("x") } } }), HttpStatusCode.NotFound),
            (() => Post("/api/v1/channels/steady/messages", new { messages = Array.Empty<object>() }), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/steady/messages", new { }), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/steady/messages", new { messages = new[] { new { payload = "not base64!" } } }), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/steady/messages", new { messages = tooMany }), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/steady/messages", new { messages = new[] { new { payload = B64("ok") }, new { payload = Convert.ToBase64String(new byte[MaxMessageBytes + 1]) } } }), HttpStatusCode.RequestEntityTooLarge),
            (() => Client.PostAsync("/api/v1/channels/steady/messages", new StringContent("{\"messages\": [", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/steady/groups", new { groupName = "bad/name" }), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/steady/groups", new { groupName = "fresh", position = "sideways" }), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/steady/groups", new { groupName = "fresh", position = 7 }), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/unknown/groups", new { groupName = "fresh" }), HttpStatusCode.NotFound),
            (() => Client.GetAsync("/api/v1/channels/steady/groups/nobody/messages"), HttpStatusCode.NotFound),
            (() => Client.GetAsync("/api/v1/channels/unknown/groups/watch/messages"), HttpStatusCode.NotFound),
            (() => Client.GetAsync("/api/v1/channels/steady/groups/watch/messages?n=0"), HttpStatusCode.BadRequest),
            (() => Client.GetAsync("/api/v1/channels/steady/groups/watch/messages?n=10001"), HttpStatusCode.BadRequest),
            (() => Client.GetAsync("/api/v1/channels/steady/groups/watch/messages?n=abc"), HttpStatusCode.BadRequest),
            (() => Client.GetAsync("/api/v1/channels/steady/groups/watch/messages?waitMs=-1"), HttpStatusCode.BadRequest),
            (() => Client.GetAsync("/api/v1/channels/steady/groups/watch/messages?waitMs=30001"), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/steady/groups/watch/seek", new { msgId = 123_456_789_000L }), HttpStatusCode.NotFound),
            (() => Post("/api/v1/channels/steady/groups/watch/seek", new { msgId = 1, position = "latest" }), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/steady/groups/watch/seek", new { }), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/steady/groups/nobody/seek", new { position = "latest" }), HttpStatusCode.NotFound),
            (() => Client.DeleteAsync("/api/v1/channels/steady/groups/nobody"), HttpStatusCode.NotFound),
            (() => Post("/api/v1/channels/destroy", new { channelNames = new[] { "steady", "unknown" } }), HttpStatusCode.NotFound),
            (() => Post("/api/v1/channels/destroy", new { channelNames = Array.Empty<string>() }), HttpStatusCode.BadRequest),
            (() => Post("/api/v1/channels/destroy", new { channelNames = new[] { "steady", "a/b" } }), HttpStatusCode.BadRequest),
        };
        foreach (var (send, status) in bad)
        {
            await GatewayBasicsTests.AssertProblem(await send(), status);
        }

        Assert.Equal(channelsBefore, await ChannelNames());
        Assert.Equal(["only"], (await Consume("steady", "watch", "n=100")).Select(m => m.Text));
        await GatewayBasicsTests.AssertProblem(await Post("/api/v1/channels/steady/groups", new { groupName = "watch" }), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task DestroyRemovesEveryNamedChannelAndListingShowsTheRest()
    {
        foreach (var name in new[] { "doomed-1", "doomed-2", "survivor" })
        {
            Assert.Equal(HttpStatusCode.Created, (await Client.PutAsJsonAsync($"/api/v1/channels/{name}", new { ownerDescription = new { role = "test", address = "127.0.0.1", descriptionText = "owned" } })).StatusCode);
        }

        var destroyed = await Post("/api/v1/channels/destroy", new { channelNames = new[] { "doomed-1", "doomed-2", "doomed-1" } });
        var names = await ChannelNames();

        Assert.Equal(HttpStatusCode.NoContent, destroyed.StatusCode);
        Assert.Contains("survivor", names);
        Assert.DoesNotContain("doomed-1", names);
        Assert.DoesNotContain("doomed-2", names);
        await GatewayBasicsTests.AssertProblem(await Post("/api/v1/channels/doomed-1/messages", new { messages = new[] { new { payload = "" } } }), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ALongPollAnswersAsSoonAsAMessageArrives()
    {
        Assert.Equal(HttpStatusCode.Created, (await Client.PutAsync("/api/v1/channels/poll", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Post("/api/v1/channels/poll/groups", new { groupName = "g" })).StatusCode);

        var waiting = Consume("poll", "g", "n=10&waitMs=30000");
        var produced = await Post("/api/v1/channels/poll/messages", new { messages = new[] { new { payload = B64("wake") } } });
        var got = await waiting.WaitAsync(TimeSpan.FromSeconds(25));

        Assert.Equal(HttpStatusCode.Created, produced.StatusCode);
        Assert.Equal(["wake"], got.Select(m => m.Text));
    }

    [Fact]
    public async Task ABrowsersConsumeFromAnotherSiteIsA403AndDoesNotMoveTheGroup()
    {
        Assert.Equal(HttpStatusCode.Created, (await Client.PutAsync("/api/v1/channels/cross-site", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Post("/api/v1/channels/cross-site/messages", new { messages = new[] { new { payload = B64("kept") } } })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Post("/api/v1/channels/cross-site/groups", new { groupName = "g" })).StatusCode);

        using var fromSite = new HttpRequestMessage(HttpMethod.Get, "/api/v1/channels/cross-site/groups/g/messages?n=5");
        fromSite.Headers.Add("Sec-Fetch-Site", "cross-site");
        using var refused = await Client.SendAsync(fromSite);
        using var fromOrigin = new HttpRequestMessage(HttpMethod.Get, "/api/v1/channels/cross-site/groups/g/messages?n=5");
        fromOrigin.Headers.Add("Origin", "https://evil.example");
        using var refusedToo = await Client.SendAsync(fromOrigin);
        var consumed = await Consume("cross-site", "g", "n=5");

        await GatewayBasicsTests.AssertProblem(refused, HttpStatusCode.Forbidden);
        await GatewayBasicsTests.AssertProblem(refusedToo, HttpStatusCode.Forbidden);
        Assert.Equal(["kept"], consumed.Select(m => m.Text));
    }

    [Fact]
    public async Task ProducedAndConsumedMessagesShowInTheMetrics()
    {
        Assert.Equal(HttpStatusCode.Created, (await Client.PutAsync("/api/v1/channels/counted", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Post("/api/v1/channels/counted/messages", new { messages = new[] { new { payload = B64("one") } } })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Post("/api/v1/channels/counted/groups", new { groupName = "g" })).StatusCode);
        Assert.Single(await Consume("counted", "g", "n=5"));

        var metrics = await Client.GetStringAsync("/metrics");

        var lines = metrics.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("milvus_mq_channel_produced_messages_total{", StringComparison.Ordinal) && l.Contains("channel=\"counted\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("milvus_mq_channel_consumed_messages_total{", StringComparison.Ordinal) && l.Contains("channel=\"counted\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SwaggerDescribesEveryMessageRoute()
    {
        using var document = JsonDocument.Parse(await Client.GetStringAsync("/swagger/v1/swagger.json"));
        var paths = document.RootElement.GetProperty("paths");

        foreach (var route in new[] { "/api/v1/channels", "/api/v1/channels/{channel}", "/api/v1/channels/destroy", "/api/v1/channels/{channel}/messages", "/api/v1/channels/{channel}/groups", "/api/v1/channels/{channel}/groups/{group}", "/api/v1/channels/{channel}/groups/{group}/messages", "/api/v1/channels/{channel}/groups/{group}/seek" })
        {
            foreach (var operation in paths.GetProperty(route).EnumerateObject())
            {
                Assert.False(string.IsNullOrWhiteSpace(operation.Value.GetProperty("summary").GetString()), $"{operation.Name} {route} has no summary");
            }
        }
    }

    [Fact]
    public async Task AProduceRetriedWithItsIdempotencyKeyIsStoredOnceAndAnsweredWithTheFirstIds()
    {
        await Client.PutAsync("/api/v1/channels/keyed", null);
        await Post("/api/v1/channels/keyed/groups", new { groupName = "g" });
        var batch = new { messages = new[] { new { payload = B64("one") }, new { payload = B64("two") } } };

        var first = await PostKeyed("/api/v1/channels/keyed/messages", batch, "order-17");
        var retry = await PostKeyed("/api/v1/channels/keyed/messages", batch, "order-17");
        var reused = await PostKeyed("/api/v1/channels/keyed/messages", new { messages = new[] { new { payload = B64("three") } } }, "order-17");
        var invalid = await PostKeyed("/api/v1/channels/keyed/messages", batch, "two words");
        using var twice = new HttpRequestMessage(HttpMethod.Post, "/api/v1/channels/keyed/messages") { Content = JsonContent.Create(batch) };
        twice.Headers.TryAddWithoutValidation("Idempotency-Key", ["a", "b"]);
        var twoKeys = await Client.SendAsync(twice);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(["true"], retry.Headers.GetValues("Idempotent-Replayed"));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        var problem = await GatewayBasicsTests.AssertProblem(reused, HttpStatusCode.UnprocessableEntity);
        Assert.Contains("order-17", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var badKey = await GatewayBasicsTests.AssertProblem(invalid, HttpStatusCode.BadRequest);
        Assert.True(badKey.GetProperty("errors").TryGetProperty("Idempotency-Key", out _));
        await GatewayBasicsTests.AssertProblem(twoKeys, HttpStatusCode.BadRequest);
        Assert.Equal(["one", "two"], (await Consume("keyed", "g", "n=10")).Select(m => m.Text));
    }

    protected Task<HttpResponseMessage> Post(string path, object body) => Client.PostAsJsonAsync(path, body);

    private Task<HttpResponseMessage> PostKeyed(string path, object body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return Client.SendAsync(request);
    }

    protected async Task<List<string>> ChannelNames()
    {
        using var body = JsonDocument.Parse(await Client.GetStringAsync("/api/v1/channels"));
        return [.. body.RootElement.GetProperty("channelNames").EnumerateArray().Select(n => n.GetString()!)];
    }

    protected async Task<List<(long MsgId, string Text)>> Consume(string channel, string group, string query)
    {
        var response = await Client.GetAsync($"/api/v1/channels/{channel}/groups/{group}/messages?{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. body.RootElement.GetProperty("messages").EnumerateArray().Select(m =>
            (m.GetProperty("msgId").GetInt64(), Encoding.UTF8.GetString(m.GetProperty("payload").GetBytesFromBase64())))];
    }

    protected static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}

/// <summary>The scenarios on RocksMQ (the default), and what only RocksMQ shows.</summary>
public sealed class MessagesApiTests(MessagesApiTests.Fixture fixture) : MessagesApiScenarios(fixture.Factory), IClassFixture<MessagesApiTests.Fixture>
{
    public sealed class Fixture : IDisposable
    {
        public GatewayFactory Factory { get; } = new(Settings());

        public void Dispose() => Factory.Dispose();
    }

    [Fact]
    public async Task TheQueueReportsItsStateAndReadiness()
    {
        using var states = JsonDocument.Parse(await Client.GetStringAsync("/api/v1/components/states"));
        using var ready = JsonDocument.Parse(await Client.GetStringAsync("/health/ready"));

        var rocksmq = states.RootElement.GetProperty("subcomponentStates").EnumerateArray().Single(s => s.GetProperty("role").GetString() == "rocksmq");
        Assert.Equal("Healthy", rocksmq.GetProperty("stateCode").GetString());
        var check = ready.RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "rocksmq");
        Assert.Equal("Healthy", check.GetProperty("status").GetString());
        Assert.True(Directory.Exists(Path.Combine(Factory.DataDir, "rocksmq")));
    }

    [Fact]
    public async Task AQueueThatCannotOpenItsDatabaseIsAbnormalNotReadyAndAnswers503()
    {
        using var broken = new GatewayFactory();
        await File.WriteAllTextAsync(Path.Combine(broken.DataDir, "rocksmq"), "a file where the database folder belongs");
        using var client = broken.CreateClient();

        var ready = await client.GetAsync("/health/ready");
        using var states = JsonDocument.Parse(await client.GetStringAsync("/api/v1/components/states"));
        var put = await client.PutAsync("/api/v1/channels/any", null);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("rocksmq", await ready.Content.ReadAsStringAsync());
        var rocksmq = states.RootElement.GetProperty("subcomponentStates").EnumerateArray().Single(s => s.GetProperty("role").GetString() == "rocksmq");
        Assert.Equal("Abnormal", rocksmq.GetProperty("stateCode").GetString());
        await GatewayBasicsTests.AssertProblem(put, HttpStatusCode.ServiceUnavailable);
    }
}

/// <summary>The scenarios with <c>Milvus:Mq:Backend=redis</c>, and what the Redis Streams queue shows.</summary>
public sealed class RedisMessagesApiTests(RedisMessagesApiTests.Fixture fixture) : MessagesApiScenarios(fixture.Factory), IClassFixture<RedisMessagesApiTests.Fixture>
{
    public sealed class Fixture : IDisposable
    {
        public GatewayFactory Factory { get; } = new(Settings(
            ("Milvus:Mq:Backend", "redis"),
            ("Milvus:Redis:Configuration", TestServers.Redis),
            ("Milvus:Etcd:RootPath", $"messages-api-{Guid.NewGuid():N}")));

        public void Dispose() => Factory.Dispose();
    }

    [Fact]
    public async Task TheRedisQueueServesAloneReportsItsStateAndIsReady()
    {
        using var states = JsonDocument.Parse(await Client.GetStringAsync("/api/v1/components/states"));
        var ready = await Client.GetAsync("/health/ready");
        using var readiness = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());

        Assert.IsType<RedisMqClient>(Assert.IsType<InstrumentedMqClient>(Factory.Services.GetRequiredService<IMqClient>()).Inner);
        var roles = states.RootElement.GetProperty("subcomponentStates").EnumerateArray().Select(s => s.GetProperty("role").GetString()).ToList();
        Assert.Contains("redismq", roles);
        Assert.DoesNotContain("rocksmq", roles);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var check = readiness.RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "redismq");
        Assert.Equal("Healthy", check.GetProperty("status").GetString());
        Assert.DoesNotContain(Factory.Services.GetServices<IHostedService>(), s => s is RocksMqRetentionService);
        Assert.False(Directory.Exists(Path.Combine(Factory.DataDir, "rocksmq")));
    }
}
