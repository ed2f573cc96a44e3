using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Milvus.Tests.Api;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Hardening;

/// <summary>
/// The gateway on the Redis queue while Redis is frozen (kill -STOP), over HTTP as a client sees it: a produce and a
/// consume answer 503 problems, and once Redis goes on they turn out to have changed nothing. The produce's batch is
/// not stored (a retry does not duplicate it) and the consume's group has not moved (its msgs come on the next consume).
/// </summary>
public sealed class FrozenRedisTests
{
    [Fact]
    public async Task A503ProduceStoredNothingAndA503ConsumeMovedNoGroupOnceRedisGoesOn()
    {
        await using var redis = await PrivateServer.StartRedisAsync();
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Mq:Backend"] = "redis",
            // A short call timeout keeps the freeze short.
            ["Milvus:Redis:Configuration"] = redis.Address + ",asyncTimeout=1500,syncTimeout=1500",
        });
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsJsonAsync("/api/v1/channels/frozen", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/channels/frozen/groups", new { groupName = "g" })).StatusCode);
        var first = await ProduceAsync(client, "AQ==", "Ag==");
        Assert.Equal(first, await ConsumeAsync(client));
        var unread = await ProduceAsync(client, "Aw==", "BA==", "BQ==");

        await redis.FreezeAsync();
        HttpResponseMessage produce, consume;
        try
        {
            produce = await client.PostAsJsonAsync("/api/v1/channels/frozen/messages", new { messages = new[] { new { payload = "Bg==" } } });
            consume = await client.GetAsync("/api/v1/channels/frozen/groups/g/messages?n=100");
        }
        finally
        {
            await redis.ThawAsync();
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, produce.StatusCode);
        Assert.Equal("application/problem+json", produce.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, consume.StatusCode);
        Assert.Equal(unread, await ConsumeAsync(client));
        var retried = await ProduceAsync(client, "Bg==");
        Assert.Equal(retried, await ConsumeAsync(client));
    }

    private static async Task<long[]> ProduceAsync(HttpClient client, params string[] payloads)
    {
        var response = await client.PostAsJsonAsync("/api/v1/channels/frozen/messages", new { messages = payloads.Select(p => new { payload = p }) });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. body.RootElement.GetProperty("msgIds").EnumerateArray().Select(id => id.GetInt64())];
    }

    private static async Task<long[]> ConsumeAsync(HttpClient client)
    {
        var response = await client.GetAsync("/api/v1/channels/frozen/groups/g/messages?n=100");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. body.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("msgId").GetInt64())];
    }
}
