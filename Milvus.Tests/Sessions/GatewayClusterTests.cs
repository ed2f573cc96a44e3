using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Milvus.Tests.Infrastructure;
using Milvus.Workers.Tso.Http;
using Xunit.Abstractions;

namespace Milvus.Tests.Sessions;

/// <summary>
/// Published gateways as child processes sharing one etcd: one active TSO, forwarding from the standbys,
/// failover after kill -9, and an etcd outage. Each test works under a root path of its own.
/// </summary>
[Collection(GatewayProcessCollection.Name)]
public sealed class GatewayClusterTests(ITestOutputHelper output)
{
    private const int TtlSeconds = 3;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    [Fact]
    public async Task ThreeGatewaysHaveOneActiveTsoAnyOfThemIssuesIncreasingTimestampsAndAStandbyTakesOverAfterEachKill()
    {
        var settings = ClusterSettings(TestServers.EtcdEndpoints, $"cluster-{Guid.NewGuid():N}");
        var dirs = Enumerable.Range(0, 3).Select(_ => new TempDirectory()).ToList();
        var gateways = dirs.Select(d => new GatewayProcess(d.Path, settings)).ToList();
        try
        {
            foreach (var gateway in gateways)
            {
                await gateway.StartAsync();
            }
            var active = await SingleActiveAsync(gateways);
            ulong highest = 0;
            highest = await AssertIncreasingThroughEachAsync(gateways, highest);
            var ids = await (await gateways[(gateways.IndexOf(active) + 1) % 3].Client.PostAsJsonAsync("api/v1/ids", new { count = 10 })).Content.ReadFromJsonAsync<IdResponse>();
            Assert.Equal(10, ids!.End - ids.Begin);
            await AssertOneSharedQueueAsync(gateways);

            for (var kill = 1; kill <= 3; kill++)
            {
                active.Kill();
                var clock = Stopwatch.StartNew();
                var survivors = gateways.Where(g => g != active).ToList();
                await AssertServedOrUnavailableAsync(survivors[0]);
                var next = await SingleActiveAsync(survivors);
                output.WriteLine($"kill {kill}: a standby took over after {clock.Elapsed.TotalSeconds:0.00} s (TTL {TtlSeconds} s)");
                Assert.NotSame(active, next);

                highest = await AssertIncreasingThroughEachAsync(survivors, highest);
                await active.StartAsync();
                Assert.Same(next, await SingleActiveAsync(gateways));
                Assert.Equal("StandBy", await TsoStateAsync(active));
                highest = await AssertIncreasingThroughEachAsync(gateways, highest);
                active = next;
            }
        }
        finally
        {
            foreach (var gateway in gateways)
            {
                await gateway.DisposeAsync();
            }
            dirs.ForEach(d => d.Dispose());
        }
    }

    [Fact]
    public async Task DuringAnEtcdOutageTheGatewayIsAbnormalAndAnswers503AndAfterItRecoversByItselfWithNewSessions()
    {
        await using var etcd = await PrivateEtcd.StartAsync();
        using var dir = new TempDirectory();
        await using var gateway = new GatewayProcess(dir.Path, ClusterSettings(etcd.Endpoint, "outage"));
        await gateway.StartAsync();
        var before = await PostTsoAsync(gateway);
        var leaseBefore = await SessionLeaseAsync(gateway);
        Assert.Equal("Healthy", await TsoStateAsync(gateway));

        await etcd.StopAsync();
        var outage = Stopwatch.StartNew();

        await WaitUntilAsync(async () => await StateAsync(gateway, "session") == "Abnormal" && await TsoStateAsync(gateway) == "Abnormal");
        await WaitUntilAsync(async () => (await gateway.Client.GetAsync("health/ready")).StatusCode == HttpStatusCode.ServiceUnavailable);
        output.WriteLine($"Abnormal and not ready {outage.Elapsed.TotalSeconds:0.00} s after etcd stopped");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await gateway.Client.PostAsJsonAsync("api/v1/tso", new { count = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await gateway.Client.PostAsJsonAsync("api/v1/ids", new { count = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await gateway.Client.GetAsync("api/v1/sessions")).StatusCode);
        var rest = TimeSpan.FromSeconds(10) - outage.Elapsed;
        if (rest > TimeSpan.Zero)
        {
            // The scenario: etcd stays away for 10 s in all.
            await Task.Delay(rest);
        }

        await etcd.StartAgainAsync();
        var back = Stopwatch.StartNew();

        await WaitUntilAsync(async () => await StateAsync(gateway, "session") == "Healthy" && await TsoStateAsync(gateway) == "Healthy");
        await WaitUntilAsync(async () => (await gateway.Client.GetAsync("health/ready")).StatusCode == HttpStatusCode.OK);
        output.WriteLine($"Healthy and ready again {back.Elapsed.TotalSeconds:0.00} s after etcd returned");
        Assert.NotEqual(leaseBefore, await SessionLeaseAsync(gateway));
        using var listed = JsonDocument.Parse(await gateway.Client.GetStringAsync("api/v1/sessions"));
        var keys = listed.RootElement.GetProperty("sessions").EnumerateArray().Select(s => s.GetProperty("key").GetString()).ToList();
        Assert.Contains("tso", keys);
        Assert.Contains(keys, k => k!.StartsWith("gateway-", StringComparison.Ordinal));
        Assert.True((await PostTsoAsync(gateway)).Timestamp > before.Timestamp);
    }

    [Fact]
    public async Task AGatewayStartedWhileEtcdIsDownServes503UntilEtcdComesUpAndThenBecomesHealthyByItself()
    {
        await using var etcd = PrivateEtcd.NotStarted();
        using var dir = new TempDirectory();
        await using var gateway = new GatewayProcess(dir.Path, ClusterSettings(etcd.Endpoint, "late-etcd"));
        await gateway.StartAsync(requireReady: false);

        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("health/live")).StatusCode);
        var ready = await gateway.Client.GetAsync("health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("meta-kv", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("Abnormal", await StateAsync(gateway, "session"));
        Assert.Equal("Abnormal", await TsoStateAsync(gateway));
        var tso = await gateway.Client.PostAsJsonAsync("api/v1/tso", new { count = 1 });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, tso.StatusCode);
        Assert.Equal("application/problem+json", tso.Content.Headers.ContentType?.MediaType);
        using (var problem = JsonDocument.Parse(await tso.Content.ReadAsStringAsync()))
        {
            Assert.Equal(503, problem.RootElement.GetProperty("status").GetInt32());
            var detail = problem.RootElement.GetProperty("detail").GetString()!;
            Assert.Contains("Abnormal", detail, StringComparison.Ordinal);
            Assert.Contains("etcd", detail, StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await gateway.Client.PostAsJsonAsync("api/v1/ids", new { count = 1 })).StatusCode);

        await etcd.StartAgainAsync();
        var up = Stopwatch.StartNew();

        await WaitUntilAsync(async () => await StateAsync(gateway, "session") == "Healthy" && await TsoStateAsync(gateway) == "Healthy");
        await WaitUntilAsync(async () => (await gateway.Client.GetAsync("health/ready")).StatusCode == HttpStatusCode.OK);
        output.WriteLine($"Healthy and ready {up.Elapsed.TotalSeconds:0.00} s after etcd came up");
        var first = await PostTsoAsync(gateway);
        Assert.True((await PostTsoAsync(gateway)).Timestamp > first.Timestamp);
        using var listed = JsonDocument.Parse(await gateway.Client.GetStringAsync("api/v1/sessions"));
        var keys = listed.RootElement.GetProperty("sessions").EnumerateArray().Select(s => s.GetProperty("key").GetString()).ToList();
        Assert.Contains("tso", keys);
        Assert.Contains(keys, k => k!.StartsWith("gateway-", StringComparison.Ordinal));
    }

    private static Dictionary<string, string> ClusterSettings(string endpoints, string root) => new()
    {
        ["Milvus:Kv:Backend"] = "etcd",
        ["Milvus:Etcd:Endpoints"] = endpoints,
        ["Milvus:Etcd:RootPath"] = root,
        ["Milvus:Session:TtlSeconds"] = TtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Milvus:Mq:Backend"] = "redis",
        ["Milvus:Redis:Configuration"] = TestServers.Redis,
    };

    /// <summary>The gateways share one queue on Redis: a channel made through one is written through another and read through the third.</summary>
    private static async Task AssertOneSharedQueueAsync(IReadOnlyList<GatewayProcess> gateways)
    {
        var channel = $"shared-{Guid.NewGuid():N}";
        Assert.Equal(HttpStatusCode.Created, (await gateways[0].Client.PutAsJsonAsync($"api/v1/channels/{channel}", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await gateways[2].Client.PostAsJsonAsync($"api/v1/channels/{channel}/groups", new { groupName = "g" })).StatusCode);
        var produced = await gateways[1].Client.PostAsJsonAsync($"api/v1/channels/{channel}/messages",
            new { messages = new[] { new { payload = Convert.ToBase64String("one"u8.ToArray()) }, new { payload = Convert.ToBase64String("two"u8.ToArray()) } } });
        Assert.Equal(HttpStatusCode.Created, produced.StatusCode);
        using var consumed = JsonDocument.Parse(await gateways[2].Client.GetStringAsync($"api/v1/channels/{channel}/groups/g/messages?n=10"));
        var payloads = consumed.RootElement.GetProperty("messages").EnumerateArray()
            .Select(m => System.Text.Encoding.UTF8.GetString(m.GetProperty("payload").GetBytesFromBase64())).ToList();
        Assert.Equal(["one", "two"], payloads);
    }

    /// <summary>Waits until exactly one gateway reports the tso role Healthy and every other StandBy, and returns it.</summary>
    private static async Task<GatewayProcess> SingleActiveAsync(IReadOnlyList<GatewayProcess> gateways)
    {
        GatewayProcess? active = null;
        await WaitUntilAsync(async () =>
        {
            var states = new List<string>();
            foreach (var gateway in gateways)
            {
                states.Add(await TsoStateAsync(gateway));
            }
            active = states.Count(s => s == "Healthy") == 1 && states.Count(s => s == "StandBy") == gateways.Count - 1
                ? gateways[states.IndexOf("Healthy")]
                : null;
            return active is not null;
        });
        return active!;
    }

    private static async Task<ulong> AssertIncreasingThroughEachAsync(IEnumerable<GatewayProcess> gateways, ulong highest)
    {
        for (var round = 0; round < 3; round++)
        {
            foreach (var gateway in gateways)
            {
                var batch = await PostTsoAsync(gateway);
                Assert.True(batch.Timestamp > highest, $"{batch.Timestamp} through {gateway.BaseAddress} is not above {highest}");
                highest = batch.Timestamp + (ulong)batch.Count - 1;
            }
        }
        return highest;
    }

    /// <summary>While the active one is dead and its lease lives, a standby answers at once: 200 if it already took over, else a 503 problem.</summary>
    private static async Task AssertServedOrUnavailableAsync(GatewayProcess gateway)
    {
        var response = await gateway.Client.PostAsJsonAsync("api/v1/tso", new { count = 1 });
        if (response.StatusCode != HttpStatusCode.OK)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    private static async Task<TimestampResponse> PostTsoAsync(GatewayProcess gateway)
    {
        var response = await gateway.Client.PostAsJsonAsync("api/v1/tso", new { count = 5 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<TimestampResponse>())!;
    }

    private static Task<string> TsoStateAsync(GatewayProcess gateway) => StateAsync(gateway, "tso");

    private static async Task<string> StateAsync(GatewayProcess gateway, string role) =>
        (await ComponentAsync(gateway, role)).GetProperty("stateCode").GetString()!;

    private static async Task<string> SessionLeaseAsync(GatewayProcess gateway) =>
        (await ComponentAsync(gateway, "session")).GetProperty("extraInfo").EnumerateArray()
            .Single(e => e.GetProperty("key").GetString() == "leaseId").GetProperty("value").GetString()!;

    private static async Task<JsonElement> ComponentAsync(GatewayProcess gateway, string role)
    {
        using var states = JsonDocument.Parse(await gateway.Client.GetStringAsync("api/v1/components/states"));
        return states.RootElement.GetProperty("subcomponentStates").EnumerateArray().Single(c => c.GetProperty("role").GetString() == role).Clone();
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var patience = new CancellationTokenSource(Patience);
        using var poll = new PeriodicTimer(Poll);
        while (!await condition())
        {
            await poll.WaitForNextTickAsync(patience.Token);
        }
    }
}
