using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;
using Milvus.Tests.Kv;
using Milvus.Workers.Mq;

namespace Milvus.Tests.Api;

/// <summary><c>Milvus:Mq:Backend</c> selects the queue the gateway runs on, and readiness follows it.</summary>
public sealed class MqSelectionTests
{
    [Fact]
    public void RocksMqIsTheDefaultWithItsRetentionWorker()
    {
        using var factory = new GatewayFactory();
        using var client = factory.CreateClient();

        Assert.IsType<RocksMq>(Assert.IsType<InstrumentedMqClient>(factory.Services.GetRequiredService<IMqClient>()).Inner);
        Assert.Contains(factory.Services.GetServices<IHostedService>(), s => s is RocksMqRetentionService);
    }

    [Theory]
    [InlineData("kafka")]
    [InlineData("rocks")]
    public void AnUnknownBackendStopsTheStartNamingTheKeyAndTheValue(string value)
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?> { ["Milvus:Mq:Backend"] = value });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var message = string.Join(" | ", Flatten(error).Select(e => e.Message));
        Assert.Contains("Milvus:Mq:Backend", message);
        Assert.Contains($"'{value}'", message);
    }

    [Fact]
    public async Task AnUnreachableRedisQueueIsNamedByReadinessAndItsCallsAnswer503()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Mq:Backend"] = "Redis",
            ["Milvus:Redis:Configuration"] = $"127.0.0.1:{KvTestBackends.ClosedPort()}",
        });
        using var client = factory.CreateClient();

        var ready = await client.GetAsync("/health/ready");
        var put = await client.PutAsync("/api/v1/channels/any", null);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("redismq", await ready.Content.ReadAsStringAsync());
        await GatewayBasicsTests.AssertProblem(put, HttpStatusCode.ServiceUnavailable);
    }

    private static IEnumerable<Exception> Flatten(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }
}
