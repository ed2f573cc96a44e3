using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Milvus.Api.Security;
using Milvus.Domain.Params;
using Milvus.Domain.Sessions;

namespace Milvus.Tests.Api;

public sealed class SecurityTests(SecurityTests.Fixture fixture) : IClassFixture<SecurityTests.Fixture>
{
    private const string Key = "s3cr3t-key-for-tests";

    public sealed class Fixture : IDisposable
    {
        public GatewayFactory Factory { get; } = new(new Dictionary<string, string?>
        {
            ["Milvus:Auth:ApiKeys:0"] = "another-key",
            ["Milvus:Auth:ApiKeys:1"] = Key,
        });

        public void Dispose() => Factory.Dispose();
    }

    [Fact]
    public async Task ApiRoutesWithoutAKeyAre401Problems()
    {
        using var client = fixture.Factory.CreateClient();

        var response = await client.GetAsync("/api/v1/components/states");

        var problem = await GatewayBasicsTests.AssertProblem(response, HttpStatusCode.Unauthorized);
        Assert.Contains("X-Api-Key", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWrongKeyIsRefusedWithoutEchoingIt()
    {
        using var client = fixture.Factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", "not-the-key");

        var response = await client.GetAsync("/api/v1/params");

        await GatewayBasicsTests.AssertProblem(response, HttpStatusCode.Unauthorized);
        Assert.DoesNotContain("not-the-key", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABearerKeyOrAnApiKeyHeaderIsAccepted()
    {
        using var bearer = fixture.Factory.CreateClient();
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        using var header = fixture.Factory.CreateClient();
        header.DefaultRequestHeaders.Add("X-Api-Key", Key);

        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("/api/v1/components/states")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await header.GetAsync("/api/v1/components/states")).StatusCode);
    }

    [Fact]
    public async Task HealthRoutesStayOpen()
    {
        using var client = fixture.Factory.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task KeysNeverAppearInTheParameterTable()
    {
        using var client = fixture.Factory.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", Key);

        var body = await client.GetStringAsync("/api/v1/params");

        Assert.DoesNotContain(Key, body, StringComparison.Ordinal);
        Assert.Contains("\"auth.apikeys\":\"***\"", body, StringComparison.Ordinal);
    }
}

public sealed class RateLimitAndMetricsTests
{
    [Fact]
    public async Task AClientOverTheRateGets429WithRetryAfter()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:RateLimit:PermitsPerSecond"] = "1",
            ["Milvus:RateLimit:Burst"] = "1",
        });
        using var client = factory.CreateClient();

        HttpResponseMessage? limited = null;
        for (var i = 0; i < 20 && limited is null; i++)
        {
            var response = await client.GetAsync("/api/v1/components/states");
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
        }

        Assert.NotNull(limited);
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        await GatewayBasicsTests.AssertProblem(limited, HttpStatusCode.TooManyRequests);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task AnotherGatewaysCallWithAKeyIsNotLimitedButAClientsIs()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:RateLimit:PermitsPerSecond"] = "1",
            ["Milvus:RateLimit:Burst"] = "1",
            ["Milvus:Auth:ApiKeys:0"] = "cluster-key",
        });
        using var client = factory.CreateClient();

        var gatewayCalls = new List<HttpStatusCode>();
        var clientCalls = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            using var gateway = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tso") { Content = JsonContent.Create(new { count = 1 }) };
            gateway.Headers.Add("X-Api-Key", "cluster-key");
            gateway.Headers.Add(ClusterForwarding.Header, "1");
            gatewayCalls.Add((await client.SendAsync(gateway)).StatusCode);
        }
        for (var i = 0; i < 10; i++)
        {
            using var call = new HttpRequestMessage(HttpMethod.Get, "/api/v1/components/states");
            call.Headers.Add("X-Api-Key", "cluster-key");
            clientCalls.Add((await client.SendAsync(call)).StatusCode);
        }
        using var spoofed = new HttpRequestMessage(HttpMethod.Get, "/api/v1/components/states");
        spoofed.Headers.Add(ClusterForwarding.Header, "1");
        var withoutKey = (await client.SendAsync(spoofed)).StatusCode;

        Assert.All(gatewayCalls, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Contains(HttpStatusCode.TooManyRequests, clientCalls);
        Assert.Equal(HttpStatusCode.Unauthorized, withoutKey);
    }

    [Fact]
    public async Task ARateSetAtRunTimeLimitsAtOnceAndItsRemovalLiftsIt()
    {
        using var factory = new GatewayFactory();
        using var client = factory.CreateClient();
        var rate = factory.Services.GetRequiredService<IOptionsMonitor<RateLimitOptions>>();

        var before = await StatusesAsync(client, 10);
        using var set = await client.PutAsJsonAsync("/api/v1/params", new { @params = new Dictionary<string, string> { ["ratelimit.permitspersecond"] = "1", ["ratelimit.burst"] = "1" } });
        await MsgStream.Api.MsgStreamApiClient.WaitUntilAsync(() => rate.CurrentValue.PermitsPerSecond == 1, "the override is in force");
        var during = await StatusesAsync(client, 10);
        // The removal goes through the store, as another gateway's would: this client is over its rate.
        Assert.True(await factory.Services.GetRequiredService<ParamOverrideStore>().RemoveAsync("ratelimit.permitspersecond"));
        await MsgStream.Api.MsgStreamApiClient.WaitUntilAsync(() => rate.CurrentValue.PermitsPerSecond == 0, "the removal is in force");
        var after = await StatusesAsync(client, 10);

        Assert.All(before, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Contains(HttpStatusCode.TooManyRequests, during);
        Assert.All(after, status => Assert.Equal(HttpStatusCode.OK, status));
    }

    [Fact]
    public async Task MetricsAreExposedForPrometheusUnderTheMilvusPrefix()
    {
        using var factory = new GatewayFactory();
        using var client = factory.CreateClient();
        await client.GetAsync("/api/v1/components/states");

        var text = await client.GetStringAsync("/metrics");

        Assert.Contains("milvus_http_server_request_duration_seconds", text, StringComparison.Ordinal);
        Assert.Contains("http_route=\"/api/v1/components/states\"", text, StringComparison.Ordinal);
    }

    private static async Task<List<HttpStatusCode>> StatusesAsync(HttpClient client, int count)
    {
        var statuses = new List<HttpStatusCode>(count);
        for (var i = 0; i < count; i++)
        {
            using var response = await client.GetAsync("/api/v1/components/states");
            statuses.Add(response.StatusCode);
        }
        return statuses;
    }
}
