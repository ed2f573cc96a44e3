using System.Net;
using System.Net.Http.Json;
using Milvus.Tests.Api;

namespace Milvus.Tests.MsgStream.Api;

/// <summary>One client cannot take every subscription of a gateway: each API key (else address) has its own limit.</summary>
public sealed class SubscriptionClientLimitTests
{
    [Fact]
    public async Task AClientOverItsSubscriptionLimitGets429WhileOthersAndItsOwnSubscriptionsGoOn()
    {
        using var gateway = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:MsgStream:MaxSubscriptionsPerClient"] = "2",
            ["Milvus:Auth:ApiKeys:0"] = "key-a",
            ["Milvus:Auth:ApiKeys:1"] = "key-b",
        });
        using var a = Client(gateway, "key-a");
        using var b = Client(gateway, "key-b");
        Assert.Equal(HttpStatusCode.Created, (await a.PutAsync("/api/v1/channels/limited", null)).StatusCode);

        var first = await ConsumeAsync(a, "a-1");
        var second = await ConsumeAsync(a, "a-2");
        using var third = await a.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels = new[] { "limited" }, subName = "a-3", timeTickAligned = false });
        var thirdProblem = await GatewayBasicsTests.AssertProblem(third, HttpStatusCode.TooManyRequests);
        var again = await ConsumeAsync(a, "a-1");
        var other = await ConsumeAsync(b, "b-1");
        using var deleted = await a.DeleteAsync("/api/v1/msgstream/subscriptions/a-1");
        var afterDelete = await ConsumeAsync(a, "a-3");

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], [first, second]);
        Assert.Contains("Milvus:MsgStream:MaxSubscriptionsPerClient", thirdProblem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, again);
        Assert.Equal(HttpStatusCode.OK, other);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, afterDelete);
    }

    private static HttpClient Client(GatewayFactory gateway, string key)
    {
        var client = gateway.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    private static async Task<HttpStatusCode> ConsumeAsync(HttpClient client, string subName)
    {
        using var response = await client.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels = new[] { "limited" }, subName, timeTickAligned = false });
        return response.StatusCode;
    }
}
