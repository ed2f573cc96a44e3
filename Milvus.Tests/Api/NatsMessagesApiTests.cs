using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Nats;
using Milvus.Tests.Infrastructure;
using Milvus.Tests.Kv;
using Milvus.Workers.Mq;

namespace Milvus.Tests.Api;

/// <summary>The scenarios with <c>Milvus:Mq:Backend=nats</c>, and what the NATS JetStream queue shows.</summary>
public sealed class NatsMessagesApiTests(NatsMessagesApiTests.Fixture fixture) : MessagesApiScenarios(fixture.Factory), IClassFixture<NatsMessagesApiTests.Fixture>
{
    public sealed class Fixture : IDisposable
    {
        public GatewayFactory Factory { get; } = new(Settings(
            ("Milvus:Mq:Backend", "nats"),
            ("Milvus:Nats:Url", TestServers.Nats),
            ("Milvus:Nats:StreamPrefix", $"api{Guid.NewGuid():N}"[..24])));

        public void Dispose() => Factory.Dispose();
    }

    [Fact]
    public async Task TheNatsQueueServesAloneReportsItsStateAndIsReady()
    {
        using var states = JsonDocument.Parse(await Client.GetStringAsync("/api/v1/components/states"));
        var ready = await Client.GetAsync("/health/ready");
        using var readiness = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());

        Assert.IsType<NatsMqClient>(Assert.IsType<InstrumentedMqClient>(Factory.Services.GetRequiredService<IMqClient>()).Inner);
        var roles = states.RootElement.GetProperty("subcomponentStates").EnumerateArray().Select(s => s.GetProperty("role").GetString()).ToList();
        Assert.Contains("natsmq", roles);
        Assert.DoesNotContain("rocksmq", roles);
        Assert.DoesNotContain("redismq", roles);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var check = readiness.RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "natsmq");
        Assert.Equal("Healthy", check.GetProperty("status").GetString());
        Assert.Contains(Factory.Services.GetServices<IHostedService>(), s => s is NatsMqRetentionService);
        Assert.DoesNotContain(Factory.Services.GetServices<IHostedService>(), s => s is RocksMqRetentionService or RedisMqRetentionService);
        Assert.False(Directory.Exists(Path.Combine(Factory.DataDir, "rocksmq")));
    }
}

/// <summary>A gateway on a NATS that does not answer, and the NATS settings in the parameter table.</summary>
public sealed class NatsGatewayTests
{
    [Fact]
    public async Task AGatewayWhoseNatsIsDownStartsAnswers503AndItsReadinessNamesNatsmq()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Mq:Backend"] = "nats",
            ["Milvus:Nats:Url"] = $"nats://127.0.0.1:{KvTestBackends.ClosedPort()}",
        });
        using var client = factory.CreateClient();

        var ready = await client.GetAsync("/health/ready");
        var put = await client.PutAsync("/api/v1/channels/any", null);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("natsmq", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await GatewayBasicsTests.AssertProblem(put, HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task TheGatewaysRetentionWorkerRemovesWhatEveryGroupHasReadWhole()
    {
        var prefix = $"ret{Guid.NewGuid():N}"[..20];
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Mq:Backend"] = "nats",
            ["Milvus:Nats:Url"] = TestServers.Nats,
            ["Milvus:Nats:StreamPrefix"] = prefix,
            ["Milvus:Nats:RetentionTimeInMinutes"] = "0",
            ["Milvus:Nats:RetentionIntervalSeconds"] = "1",
        });
        using var client = factory.CreateClient();
        var mq = factory.Services.GetRequiredService<IMqClient>();
        await mq.CreateChannelAsync("kept");
        await mq.CreateChannelAsync("read");
        await mq.CreateConsumerGroupAsync("read", "g", MqStartPosition.Earliest);
        await mq.CreateConsumerGroupAsync("kept", "g", MqStartPosition.Earliest);
        var ids = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            ids.AddRange(await mq.ProduceAsync("read", [new byte[] { 1 }]));
            await mq.ProduceAsync("kept", [new byte[] { 2 }]);
        }
        Assert.Equal(3, (await mq.ConsumeAsync("read", "g", 10)).Count);

        // The worker runs every second on this gateway (it serves the TSO role): the read channel's batches go but its
        // newest. The gateway's own channels (time ticks, statistics) grow meanwhile, so the read channel is looked at.
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (true)
        {
            await mq.SeekToAsync("read", "g", MqStartPosition.Earliest, patience.Token);
            if ((await mq.ConsumeAsync("read", "g", 10, cancellationToken: patience.Token)).Count == 1)
            {
                break;
            }
            await poll.WaitForNextTickAsync(patience.Token);
        }

        Assert.Equal(3, (await mq.ConsumeAsync("kept", "g", 10)).Count);
        Assert.Equal(ids[2], await mq.GetLatestMsgIdAsync("read"));
        await Assert.ThrowsAsync<MqMsgIdNotFoundException>(() => mq.SeekAsync("read", "g", ids[1]));
    }

    [Fact]
    public async Task TheNatsRetentionKeysAreOverriddenLiveAndTheConnectionKeysOnlyAtStart()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?>());
        using var client = factory.CreateClient();

        using var live = await client.PutAsJsonAsync("/api/v1/params", new { @params = new Dictionary<string, string> { ["nats.retentionTimeInMinutes"] = "5", ["nats.retentionsizeinmb"] = "-1" } });
        using var atStart = await client.PutAsJsonAsync("/api/v1/params", new { @params = new Dictionary<string, string> { ["nats.url"] = "nats://elsewhere:4222" } });
        var options = factory.Services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<NatsMqOptions>>();

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        await GatewayBasicsTests.AssertProblem(atStart, HttpStatusCode.Conflict);
        Assert.Equal(5, options.CurrentValue.RetentionTimeInMinutes);
        Assert.Equal(-1, options.CurrentValue.RetentionSizeInMB);
        Assert.Equal("nats://127.0.0.1:4222", options.CurrentValue.Url);
    }

    [Theory]
    [InlineData("Milvus:Nats:Password", "nats.password")]
    [InlineData("Milvus:Nats:Token", "nats.token")]
    public async Task NatsCredentialsAreMaskedInTheParameterTableAndTheYamlKeysAreTheSettings(string secretKey, string secretParam)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Milvus:Nats:Url"] = "nats://milvus:url-pass@127.0.0.1:4222",
            [secretKey] = "nats-secret",
        };
        if (secretKey.EndsWith("Password", StringComparison.Ordinal))
        {
            settings["Milvus:Nats:User"] = "milvus";
        }
        using var factory = new GatewayFactory(settings);
        using var client = factory.CreateClient();

        var table = await client.GetStringAsync("/api/v1/params?prefix=nats");
        var layers = await client.GetStringAsync("/api/v1/params/layers?prefix=nats");
        using var parsed = JsonDocument.Parse(table);

        Assert.DoesNotContain("nats-secret", table + layers, StringComparison.Ordinal);
        Assert.DoesNotContain("url-pass", table + layers, StringComparison.Ordinal);
        Assert.Equal("***", parsed.RootElement.GetProperty(secretParam).GetString());
        Assert.Equal("nats://***@127.0.0.1:4222", parsed.RootElement.GetProperty("nats.url").GetString());
        // From configs/milvus.yaml: the YAML keys nats.* are the settings Milvus:Nats:*.
        Assert.Equal("1", parsed.RootElement.GetProperty("nats.replicas").GetString());
        Assert.Equal("milvus", parsed.RootElement.GetProperty("nats.streamprefix").GetString());
    }
}
