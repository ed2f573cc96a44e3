using System.Net;
using System.Net.Http.Json;
using Milvus.Workers.Tso.Http;

namespace Milvus.Tests.Infrastructure;

public sealed class GatewayProcessTests
{
    [Fact]
    public async Task AGatewayChildServesTimestampsDiesOnKillAndServesAgainAfterARestartOnTheSameDirectory()
    {
        using var dataDir = new TempDirectory();
        await using var gateway = new GatewayProcess(dataDir.Path);

        await gateway.StartAsync();
        var before = await (await gateway.Client.PostAsJsonAsync("api/v1/tso", new { count = 100 })).Content.ReadFromJsonAsync<TimestampResponse>();
        var oldAddress = gateway.BaseAddress;
        gateway.Kill();

        Assert.False(gateway.IsRunning);
        using (var probe = new HttpClient { BaseAddress = oldAddress })
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => probe.GetAsync("health/live"));
        }

        await gateway.RestartAsync();
        var response = await gateway.Client.PostAsJsonAsync("api/v1/tso", new { count = 1 });
        var after = await response.Content.ReadFromJsonAsync<TimestampResponse>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(after!.Timestamp >= before!.Timestamp + 100, $"{after.Timestamp} after {before.Timestamp}");
        Assert.True(Directory.Exists(gateway.DataDir));
        Assert.Equal(2, gateway.Output.Split("Application started").Length - 1);
    }
}
