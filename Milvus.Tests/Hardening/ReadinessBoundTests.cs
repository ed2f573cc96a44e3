using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Milvus.Api.Endpoints;
using Milvus.Tests.Api;

namespace Milvus.Tests.Hardening;

/// <summary>Readiness answers even when a backend's check never does.</summary>
public sealed class ReadinessBoundTests
{
    [Fact]
    public async Task ACheckThatNeverAnswersIsReportedFailedAndTheOthersStillAnswer()
    {
        using var gateway = new GatewayFactory();
        var stuck = new NeverAnswers();
        using var factory = gateway.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddHealthChecks().AddCheck("frozen-backend", stuck, tags: [HealthApi.ReadyTag])));
        using var client = factory.CreateClient();

        // Without the bound this request never ends: the check ignores cancellation and never completes.
        using var ready = await client.GetAsync("/health/ready");
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        using var live = await client.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(["frozen-backend"], body.RootElement.GetProperty("failing").EnumerateArray().Select(e => e.GetString()));
        var frozen = body.RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "frozen-backend");
        Assert.Contains("did not answer within", frozen.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.All(body.RootElement.GetProperty("checks").EnumerateArray().Where(c => c.GetProperty("name").GetString() != "frozen-backend"),
            c => Assert.Equal("Healthy", c.GetProperty("status").GetString()));
        Assert.True(stuck.Calls > 0);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    /// <summary>A check that hangs like a call to a frozen server, ignoring its cancellation token.</summary>
    private sealed class NeverAnswers : IHealthCheck
    {
        private readonly TaskCompletionSource<HealthCheckResult> _never = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            return _never.Task;
        }
    }
}
