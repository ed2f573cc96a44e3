using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Api;

/// <summary>The channel service routes (seed 8.2), the same scenarios on every message-queue backend.</summary>
public abstract class ChannelsApiScenarios : IDisposable
{
    private readonly TempDirectory _dataDir = new();
    private readonly List<GatewayFactory> _gateways = [];

    /// <summary>The settings that select the backend; one value per test class, so a restart finds its data.</summary>
    protected abstract IReadOnlyDictionary<string, string?> BackendSettings { get; }

    [Fact]
    public async Task CreatedChannelsHaveFreshUniqueNamesAndDescribeReturnsTheirOwner()
    {
        var client = Start();

        var first = await CreateAsync(client, new { ownerDescription = Owner("proxy", "127.0.0.1:19530", "dml"), numChannels = 3 });
        var second = await CreateAsync(client, new { ownerDescription = Owner("datanode", "", ""), numChannels = 2 });
        var described = await DescribeAsync(client, [second[1], first[0]]);

        Assert.Equal(5, first.Concat(second).Distinct().Count());
        Assert.All(first.Concat(second), n => Assert.StartsWith("channel-", n));
        Assert.Equal([(second[1], "datanode", "", ""), (first[0], "proxy", "127.0.0.1:19530", "dml")], described);
        var listed = await ListAsync(client);
        Assert.All(first.Concat(second), n => Assert.Contains(n, listed));
        var produced = await client.PostAsJsonAsync($"/api/v1/channels/{first[2]}/messages", new { messages = new[] { new { payload = "" } } });
        Assert.Equal(HttpStatusCode.Created, produced.StatusCode);
    }

    [Fact]
    public async Task InvalidRequestsGet400AndChangeNothing()
    {
        var client = Start();
        var kept = await CreateAsync(client, new { ownerDescription = Owner("proxy", "a:1", ""), numChannels = 1 });
        var before = await ListAsync(client);
        var tooMany = Enumerable.Range(0, 1025).Select(i => $"c{i}").ToArray();

        var bad = new Func<Task<HttpResponseMessage>>[]
        {
            () => client.PostAsJsonAsync("/api/v1/channels", new { ownerDescription = Owner("", "", ""), numChannels = 1 }),
            () => client.PostAsJsonAsync("/api/v1/channels", new { ownerDescription = Owner("   ", "", ""), numChannels = 1 }),
            () => client.PostAsJsonAsync("/api/v1/channels", new { numChannels = 1 }),
            () => client.PostAsJsonAsync("/api/v1/channels", new { ownerDescription = Owner("proxy", "", "") }),
            () => client.PostAsJsonAsync("/api/v1/channels", new { ownerDescription = Owner("proxy", "", ""), numChannels = 0 }),
            () => client.PostAsJsonAsync("/api/v1/channels", new { ownerDescription = Owner("proxy", "", ""), numChannels = 1025 }),
            () => client.PostAsJsonAsync("/api/v1/channels", new { ownerDescription = Owner("proxy", "has space", ""), numChannels = 1 }),
            () => client.PostAsJsonAsync("/api/v1/channels", new { ownerDescription = Owner("proxy", "", ""), numChannels = "two" }),
            () => client.PostAsJsonAsync("/api/v1/channels", new { ownerDescription = Owner(new string('r', 4097), "", ""), numChannels = 1 }),
            () => client.PutAsJsonAsync("/api/v1/channels/ownerless", new { ownerDescription = Owner("", "", "") }),
            () => client.PostAsJsonAsync("/api/v1/channels/describe", new { channelNames = Array.Empty<string>() }),
            () => client.PostAsJsonAsync("/api/v1/channels/describe", new { channelNames = new[] { kept[0], "a/b" } }),
            () => client.PostAsJsonAsync("/api/v1/channels/describe", new { channelNames = tooMany }),
            () => client.PostAsJsonAsync("/api/v1/channels/describe", new { }),
            () => client.PostAsJsonAsync("/api/v1/channels/destroy", new { channelNames = new[] { kept[0], "" } }),
            () => client.PostAsJsonAsync("/api/v1/channels/destroy", new { channelNames = tooMany }),
        };
        foreach (var send in bad)
        {
            await GatewayBasicsTests.AssertProblem(await send(), HttpStatusCode.BadRequest);
        }

        Assert.Equal(before, await ListAsync(client));
        Assert.Equal([(kept[0], "proxy", "a:1", "")], await DescribeAsync(client, kept));
    }

    [Fact]
    public async Task ValidationErrorsNameTheFieldsAsTheJsonWritesThem()
    {
        var client = Start();

        using var channels = await client.PostAsJsonAsync("/api/v1/channels", new { ownerDescription = Owner("", "", ""), numChannels = 0 });
        using var produce = await client.PostAsJsonAsync("/api/v1/msgstream/produce",
            new { channels = new[] { "a" }, msgs = new object[] { new { msgType = "Search", payload = "", hashKeys = new[] { 0 }, beginTs = 5, endTs = 1 } } });

        var channelErrors = (await channels.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateObject().Select(e => e.Name).ToList();
        var produceErrors = (await produce.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateObject().Select(e => e.Name).ToList();
        Assert.Contains("numChannels", channelErrors);
        Assert.Contains(channelErrors, e => e.StartsWith("ownerDescription.", StringComparison.Ordinal));
        Assert.NotEmpty(produceErrors);
        Assert.All(channelErrors.Concat(produceErrors), e => Assert.True(e.Split('.').All(segment => segment.Length > 0 && !char.IsUpper(segment[0])), $"'{e}' is not a JSON path in camelCase"));
    }

    [Fact]
    public async Task DestroyWithOneUnknownNameDestroysNothingAndNamesIt()
    {
        var client = Start();
        var names = await CreateAsync(client, new { ownerDescription = Owner("proxy", "", "kept"), numChannels = 2 });

        var refused = await client.PostAsJsonAsync("/api/v1/channels/destroy", new { channelNames = new[] { names[0], "never-made", names[1] } });
        var unknownDescribe = await client.PostAsJsonAsync("/api/v1/channels/describe", new { channelNames = new[] { "never-made", names[0], "also-never" } });

        var problem = await GatewayBasicsTests.AssertProblem(refused, HttpStatusCode.NotFound);
        Assert.Contains("never-made", problem.GetProperty("detail").GetString());
        var describeProblem = await GatewayBasicsTests.AssertProblem(unknownDescribe, HttpStatusCode.NotFound);
        Assert.Contains("never-made", describeProblem.GetProperty("detail").GetString());
        Assert.Contains("also-never", describeProblem.GetProperty("detail").GetString());
        Assert.Equal(names.Select(n => (n, "proxy", "", "kept")), await DescribeAsync(client, names));

        var destroyed = await client.PostAsJsonAsync("/api/v1/channels/destroy", new { channelNames = names });
        Assert.Equal(HttpStatusCode.NoContent, destroyed.StatusCode);
        await GatewayBasicsTests.AssertProblem(await client.PostAsJsonAsync("/api/v1/channels/describe", new { channelNames = new[] { names[0] } }), HttpStatusCode.NotFound);
        await GatewayBasicsTests.AssertProblem(await client.PostAsJsonAsync($"/api/v1/channels/{names[1]}/messages", new { messages = new[] { new { payload = "" } } }), HttpStatusCode.NotFound);
        Assert.DoesNotContain(names[0], await ListAsync(client));
    }

    [Fact]
    public async Task OwnersSurviveAGatewayRestartOnTheSameDataDir()
    {
        var client = Start();
        var created = await CreateAsync(client, new { ownerDescription = Owner("querynode", "10.0.0.7:21123", "shard 3"), numChannels = 2 });
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsJsonAsync("/api/v1/channels/named-one", new { ownerDescription = Owner("rootcoord", "", "chosen") })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsync("/api/v1/channels/named-two", null)).StatusCode);
        StopAll();

        var restarted = Start();
        var described = await DescribeAsync(restarted, [.. created, "named-one", "named-two"]);

        Assert.Equal(
            [(created[0], "querynode", "10.0.0.7:21123", "shard 3"), (created[1], "querynode", "10.0.0.7:21123", "shard 3"), ("named-one", "rootcoord", "", "chosen"), ("named-two", "", "", "")],
            described);
        await GatewayBasicsTests.AssertProblem(await restarted.PutAsync("/api/v1/channels/named-one", null), HttpStatusCode.Conflict);
        var fresh = await CreateAsync(restarted, new { ownerDescription = Owner("proxy", "", ""), numChannels = 1 });
        Assert.DoesNotContain(fresh[0], created);
    }

    public void Dispose()
    {
        StopAll();
        _dataDir.Dispose();
        GC.SuppressFinalize(this);
    }

    private HttpClient Start()
    {
        var settings = new Dictionary<string, string?>(BackendSettings) { ["Milvus:DataDir"] = _dataDir.Path };
        var gateway = new GatewayFactory(settings);
        _gateways.Add(gateway);
        return gateway.CreateClient();
    }

    private void StopAll()
    {
        foreach (var gateway in _gateways)
        {
            gateway.Dispose();
        }
        _gateways.Clear();
    }

    protected static object Owner(string role, string address, string text) => new { role, address, descriptionText = text };

    protected static async Task<List<string>> CreateAsync(HttpClient client, object request)
    {
        var response = await client.PostAsJsonAsync("/api/v1/channels", request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. body.RootElement.GetProperty("channelNames").EnumerateArray().Select(n => n.GetString()!)];
    }

    protected static async Task<List<(string Name, string Role, string Address, string Text)>> DescribeAsync(HttpClient client, IEnumerable<string> names)
    {
        var response = await client.PostAsJsonAsync("/api/v1/channels/describe", new { channelNames = names });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. body.RootElement.GetProperty("descriptions").EnumerateArray().Select(d =>
        {
            var owner = d.GetProperty("owner");
            return (d.GetProperty("channelName").GetString()!, owner.GetProperty("role").GetString()!, owner.GetProperty("address").GetString()!, owner.GetProperty("descriptionText").GetString()!);
        })];
    }

    private static async Task<List<string>> ListAsync(HttpClient client)
    {
        using var body = JsonDocument.Parse(await client.GetStringAsync("/api/v1/channels"));
        return [.. body.RootElement.GetProperty("channelNames").EnumerateArray().Select(n => n.GetString()!)];
    }
}

/// <summary>The channel service on RocksMQ.</summary>
public sealed class ChannelsApiTests : ChannelsApiScenarios
{
    protected override IReadOnlyDictionary<string, string?> BackendSettings { get; } = new Dictionary<string, string?>();
}

/// <summary>The channel service on Redis Streams.</summary>
public sealed class RedisChannelsApiTests : ChannelsApiScenarios
{
    protected override IReadOnlyDictionary<string, string?> BackendSettings { get; } = new Dictionary<string, string?>
    {
        ["Milvus:Mq:Backend"] = "redis",
        ["Milvus:Redis:Configuration"] = TestServers.Redis,
        ["Milvus:Etcd:RootPath"] = $"channels-api-{Guid.NewGuid():N}",
    };

    [Fact]
    public async Task TwoGatewaysOnOneEtcdAndOneRedisShareChannelsAndOwners()
    {
        var shared = new Dictionary<string, string?>(BackendSettings)
        {
            ["Milvus:Kv:Backend"] = "etcd",
            ["Milvus:Etcd:Endpoints"] = TestServers.EtcdEndpoints,
        };
        using var first = new GatewayFactory(shared);
        using var second = new GatewayFactory(shared);
        using var one = first.CreateClient();
        using var other = second.CreateClient();

        var created = await CreateAsync(one, new { ownerDescription = Owner("proxy", "gw-1:19530", "from one"), numChannels = 2 });
        var seen = await DescribeAsync(other, created);
        var destroyed = await other.PostAsJsonAsync("/api/v1/channels/destroy", new { channelNames = created });

        Assert.Equal(created.Select(n => (n, "proxy", "gw-1:19530", "from one")), seen);
        Assert.Equal(HttpStatusCode.NoContent, destroyed.StatusCode);
        await GatewayBasicsTests.AssertProblem(await one.PostAsJsonAsync("/api/v1/channels/describe", new { channelNames = created }), HttpStatusCode.NotFound);
    }
}
