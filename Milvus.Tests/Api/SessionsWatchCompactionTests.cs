using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Milvus.Domain.Kv;
using Milvus.Domain.Sessions;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Api;

/// <summary>The SSE session watch from a revision that a real etcd (a private one, since it is compacted) no longer keeps.</summary>
public sealed class SessionsWatchCompactionTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AWatchFromACompactedRevisionIsA409NamingTheCompactedAndCurrentRevisionsAndAWatchFromANewListingStreams()
    {
        await using var etcd = await PrivateEtcd.StartAsync();
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Kv:Backend"] = "etcd",
            ["Milvus:Etcd:Endpoints"] = etcd.Endpoint,
            ["Milvus:Etcd:RootPath"] = "compaction",
        });
        using var client = factory.CreateClient();
        var listedAt = await ListedRevisionAsync(client);
        var kv = factory.Services.GetRequiredService<IMetaKv>();
        await using (var gone = new Session(kv, 60))
        {
            await gone.InitAsync("compacted", "http://10.0.0.1:19530", exclusive: false);
            await gone.StopAsync();
        }
        var now = (await kv.LoadWithRevisionAsync("session/")).Revision;
        await EtcdAdmin.CompactAsync(etcd.Endpoint, now);

        using var patience = new CancellationTokenSource(Patience);
        using var refused = await client.SendAsync(
            new HttpRequestMessage(HttpMethod.Get, $"/api/v1/sessions/watch?prefix=compacted&revision={listedAt}"), HttpCompletionOption.ResponseHeadersRead, patience.Token);

        var problem = await GatewayBasicsTests.AssertProblem(refused, HttpStatusCode.Conflict);
        Assert.Equal(listedAt, problem.GetProperty("revision").GetInt64());
        Assert.Equal(now, problem.GetProperty("compactRevision").GetInt64());
        var current = problem.GetProperty("currentRevision").GetInt64();
        Assert.True(current >= now, $"current revision {current} is below the compacted {now}");
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains(now.ToString(CultureInfo.InvariantCulture), detail, StringComparison.Ordinal);
        Assert.Contains(current.ToString(CultureInfo.InvariantCulture), detail, StringComparison.Ordinal);

        // Listing again gives a revision that the watch accepts, and it streams the changes after it.
        var relistedAt = await ListedRevisionAsync(client);
        await using var added = new Session(kv, 60);
        await added.InitAsync("compacted", "http://10.0.0.2:19530", exclusive: false);
        using var response = await client.SendAsync(
            new HttpRequestMessage(HttpMethod.Get, $"/api/v1/sessions/watch?prefix=compacted&revision={relistedAt}"), HttpCompletionOption.ResponseHeadersRead, patience.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(patience.Token));
        string line;
        do
        {
            line = await reader.ReadLineAsync(patience.Token) ?? throw new InvalidOperationException("The stream ended.");
        }
        while (!line.StartsWith("data: ", StringComparison.Ordinal));
        using var first = JsonDocument.Parse(line["data: ".Length..]);
        Assert.Equal("Add", first.RootElement.GetProperty("eventType").GetString());
        Assert.Equal(added.ServerId, first.RootElement.GetProperty("session").GetProperty("serverId").GetInt64());
    }

    private static async Task<long> ListedRevisionAsync(HttpClient client)
    {
        using var listed = JsonDocument.Parse(await client.GetStringAsync("/api/v1/sessions?prefix=compacted"));
        return listed.RootElement.GetProperty("revision").GetInt64();
    }
}
