using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Milvus.Domain.Kv;
using Milvus.Tests.Tso;
using Milvus.Workers.Tso.Http;

namespace Milvus.Tests.Api;

public sealed class TsoApiTests(TsoApiTests.Fixture fixture) : IClassFixture<TsoApiTests.Fixture>
{
    private readonly HttpClient _client = fixture.Factory.CreateClient();

    public sealed class Fixture : IDisposable
    {
        public GatewayFactory Factory { get; } = new();

        public void Dispose() => Factory.Dispose();
    }

    [Fact]
    public async Task ATimestampBatchAnswersWithItsPhysicalAndLogicalParts()
    {
        var response = await _client.PostAsJsonAsync("/api/v1/tso", new { count = 10 });
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var timestamp = root.GetProperty("timestamp").GetUInt64();
        Assert.Equal(10, root.GetProperty("count").GetInt64());
        Assert.Equal(timestamp >> 18, root.GetProperty("physicalMs").GetUInt64());
        Assert.Equal(timestamp & ((1UL << 18) - 1), root.GetProperty("logical").GetUInt64());
        Assert.InRange(DateTimeOffset.FromUnixTimeMilliseconds((long)(timestamp >> 18)), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task EightConcurrentClientsEachSeeStrictlyIncreasingTimestampsAndNoBatchesOverlap()
    {
        var perClient = await Task.WhenAll(Enumerable.Range(0, 8).Select(client => Task.Run(async () =>
        {
            var batches = new List<(ulong First, long Count)>();
            for (var i = 0; i < 100; i++)
            {
                var count = 1 + ((client * 31 + i * 7) % 1000);
                var answer = await (await _client.PostAsJsonAsync("/api/v1/tso", new { count })).Content.ReadFromJsonAsync<TimestampResponse>();
                batches.Add((answer!.Timestamp, answer.Count));
            }
            return batches;
        })));

        foreach (var batches in perClient)
        {
            Assert.All(batches.Zip(batches.Skip(1)), pair => Assert.True(pair.First.First + (ulong)pair.First.Count <= pair.Second.First));
        }
        var all = perClient.SelectMany(b => b).OrderBy(b => b.First).ToList();
        Assert.All(all.Zip(all.Skip(1)), pair => Assert.True(pair.First.First + (ulong)pair.First.Count <= pair.Second.First));
    }

    [Fact]
    public async Task ConcurrentIdRangesNeverOverlap()
    {
        var perClient = await Task.WhenAll(Enumerable.Range(0, 8).Select(client => Task.Run(async () =>
        {
            var ranges = new List<IdResponse>();
            for (var i = 0; i < 100; i++)
            {
                var count = client == 0 && i == 0 ? 1_000_000 : 1 + (i * 13 % 5000);
                var response = await _client.PostAsJsonAsync("/api/v1/ids", new { count });
                var range = (await response.Content.ReadFromJsonAsync<IdResponse>())!;
                Assert.Equal(count, range.End - range.Begin);
                ranges.Add(range);
            }
            return ranges;
        })));

        var all = perClient.SelectMany(r => r).OrderBy(r => r.Begin).ToList();
        Assert.All(all.Zip(all.Skip(1)), pair => Assert.True(pair.First.End <= pair.Second.Begin));
    }

    [Theory]
    [InlineData("/api/v1/tso", "{\"count\":0}")]
    [InlineData("/api/v1/tso", "{\"count\":262145}")]
    [InlineData("/api/v1/tso", "{\"count\":-1}")]
    [InlineData("/api/v1/tso", "{}")]
    [InlineData("/api/v1/ids", "{\"count\":0}")]
    [InlineData("/api/v1/ids", "{\"count\":1000001}")]
    [InlineData("/api/v1/ids", "{\"count\":99999999999999999999}")]
    public async Task ACountOutOfRangeIsA400Problem(string route, string json)
    {
        var response = await _client.PostAsync(route, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        await GatewayBasicsTests.AssertProblem(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task AnInvalidCountIsNamedInTheProblemsErrors()
    {
        var response = await _client.PostAsJsonAsync("/api/v1/ids", new { count = 0 });

        var problem = await GatewayBasicsTests.AssertProblem(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("count", out var messages));
        Assert.Contains("1000000", messages[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheLargestBatchesAreAccepted()
    {
        var tso = await _client.PostAsJsonAsync("/api/v1/tso", new { count = 262_144 });
        var ids = await _client.PostAsJsonAsync("/api/v1/ids", new { count = 1_000_000 });

        Assert.Equal(HttpStatusCode.OK, tso.StatusCode);
        Assert.Equal(0, (await tso.Content.ReadFromJsonAsync<TimestampResponse>())!.Logical);
        Assert.Equal(HttpStatusCode.OK, ids.StatusCode);
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesBothRoutesWithTheir400And503()
    {
        using var document = JsonDocument.Parse(await _client.GetStringAsync("/swagger/v1/swagger.json"));
        var paths = document.RootElement.GetProperty("paths");

        foreach (var route in new[] { "/api/v1/tso", "/api/v1/ids" })
        {
            var responses = paths.GetProperty(route).GetProperty("post").GetProperty("responses");
            Assert.True(responses.TryGetProperty("200", out _), route);
            Assert.True(responses.TryGetProperty("400", out _), route);
            Assert.True(responses.TryGetProperty("503", out _), route);
        }
    }

    [Theory]
    [InlineData("Milvus:Tso:UpdateIntervalMs", "0")]
    [InlineData("Milvus:Tso:SaveIntervalMs", "100")]
    [InlineData("Milvus:Tso:MaxOverflowWaits", "0")]
    public void AnInvalidTsoSettingStopsTheStartWithItsKey(string key, string value)
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?> { [key] = value });

        var error = Assert.ThrowsAny<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheTsoComponentIsHealthyInTheComponentStates()
    {
        using var body = JsonDocument.Parse(await _client.GetStringAsync("/api/v1/components/states"));

        var tso = body.RootElement.GetProperty("subcomponentStates").EnumerateArray().Single(s => s.GetProperty("role").GetString() == "tso");
        Assert.Equal("Healthy", tso.GetProperty("stateCode").GetString());
    }

    [Fact]
    public async Task WhenTheMetaStoreCannotBeReadTheTsoAnswers503AndTheComponentIsAbnormal()
    {
        var kv = new FaultyKv { FailLoads = true };
        using var gateway = new GatewayFactory();
        using var broken = gateway.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<ITxnKv>(kv)));
        using var client = broken.CreateClient();

        var tso = await client.PostAsJsonAsync("/api/v1/tso", new { count = 1 });
        var ids = await client.PostAsJsonAsync("/api/v1/ids", new { count = 1 });
        var ready = await client.GetAsync("/health/ready");
        using var states = JsonDocument.Parse(await client.GetStringAsync("/api/v1/components/states"));

        await GatewayBasicsTests.AssertProblem(tso, HttpStatusCode.ServiceUnavailable);
        await GatewayBasicsTests.AssertProblem(ids, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var component = states.RootElement.GetProperty("subcomponentStates").EnumerateArray().Single(s => s.GetProperty("role").GetString() == "tso");
        Assert.Equal("Abnormal", component.GetProperty("stateCode").GetString());
    }
}
