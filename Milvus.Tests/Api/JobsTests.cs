using System.Net;
using Hangfire;
using Hangfire.Storage;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Milvus.Tests.Infrastructure;
using Milvus.Workers.Jobs;

namespace Milvus.Tests.Api;

public sealed class JobsTests
{
    [Theory]
    [InlineData("memory")]
    [InlineData("redis")]
    public async Task RegisteredMaintenanceJobsAreScheduledAndATriggerRunsThem(string storage)
    {
        var job = new CountingJob();
        var settings = new Dictionary<string, string?> { ["Milvus:Jobs:Storage"] = storage, ["Milvus:Jobs:PollingSeconds"] = "1" };
        if (storage == "redis")
        {
            settings["Milvus:Redis:Configuration"] = TestServers.Redis;
            settings["Milvus:Jobs:RedisPrefix"] = $"test-{Guid.NewGuid():N}:";
        }
        using var factory = new GatewayFactory(settings);
        using var host = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton<IMaintenanceJob>(job)));
        using var client = host.CreateClient();

        using (var connection = host.Services.GetRequiredService<JobStorage>().GetConnection())
        {
            var recurring = connection.GetRecurringJobs();
            Assert.Contains(recurring, r => r.Id == CountingJob.JobId && r.Cron == job.Cron);
        }

        host.Services.GetRequiredService<IRecurringJobManager>().Trigger(CountingJob.JobId);

        await job.Ran.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, job.Runs);
    }

    [Fact]
    public async Task TheDashboardServesLocalRequests()
    {
        using var factory = new GatewayFactory();
        using var client = factory.CreateClient();

        var response = await client.GetAsync("/hangfire");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Hangfire", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithKeysTheDashboardNeedsOne()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?> { ["Milvus:Auth:ApiKeys:0"] = "dash-key" });
        using var client = factory.CreateClient();

        var without = await client.GetAsync("/hangfire");
        client.DefaultRequestHeaders.Add("X-Api-Key", "dash-key");
        var with = await client.GetAsync("/hangfire");

        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        Assert.Equal(HttpStatusCode.OK, with.StatusCode);
    }

    [Fact]
    public async Task ABrowserIsSentToTheLoginFormAndItsKeyBecomesACookieThatOpensTheDashboard()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?> { ["Milvus:Auth:ApiKeys:0"] = "browser-key" });
        using var client = factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        client.DefaultRequestHeaders.Accept.ParseAdd("text/html");

        using var page = await client.GetAsync("/hangfire");
        using var form = await client.GetAsync("/hangfire/login");
        using var wrong = await client.PostAsync("/hangfire/login", new FormUrlEncodedContent([new("key", "not-the-key")]));
        using var stillOut = await client.GetAsync("/hangfire");
        using var right = await client.PostAsync("/hangfire/login", new FormUrlEncodedContent([new("key", "browser-key")]));
        using var dashboard = await client.GetAsync("/hangfire");
        using var forged = new HttpRequestMessage(HttpMethod.Get, "/hangfire");
        forged.Headers.Add("Cookie", $"milvus-dashboard=99999999999.{new string('A', 43)}");
        forged.Headers.Accept.ParseAdd("text/html");
        using var forgedAnswer = await factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false }).SendAsync(forged);

        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/hangfire/login", page.Headers.Location!.OriginalString);
        Assert.Contains("name=\"key\"", await form.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, stillOut.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        var cookie = Assert.Single(right.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("browser-key", cookie, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("Hangfire", await dashboard.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, forgedAnswer.StatusCode);
    }

    private sealed class CountingJob : IMaintenanceJob
    {
        public const string JobId = "test-counting-job";
        private int _runs;

        public string Id => JobId;

        // Once a year: only the trigger runs it during the test.
        public string Cron => "0 0 1 1 *";

        public int Runs => Volatile.Read(ref _runs);

        public TaskCompletionSource Ran { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task RunAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _runs);
            Ran.TrySetResult();
            return Task.CompletedTask;
        }
    }
}
