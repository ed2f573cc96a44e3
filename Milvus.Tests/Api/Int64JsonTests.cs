using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Milvus.Tests.Api;

/// <summary><c>Accept-Type-Allow-Int64: false</c>: 64-bit values as strings for JavaScript clients, and either form as input.</summary>
public sealed class Int64JsonTests
{
    [Fact]
    public async Task WithTheHeaderFalseIdsAndTimestampsComeAsStringsAndEitherFormIsAcceptedAsInput()
    {
        using var factory = new GatewayFactory();
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsync("/api/v1/channels/js", null)).StatusCode);

        using var plain = JsonDocument.Parse(await (await client.PostAsJsonAsync("/api/v1/tso", new { count = 1 })).Content.ReadAsStringAsync());
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/msgstream/produce")
        {
            Content = JsonContent.Create(new { channels = new[] { "js" }, msgs = new[] { new { msgType = "Search", id = "9007199254740993", hashKeys = new[] { 0 }, payload = "" } } }),
        };
        request.Headers.Add("Accept-Type-Allow-Int64", "false");
        using var produced = await client.SendAsync(request);
        using var positions = JsonDocument.Parse(await produced.Content.ReadAsStringAsync());
        using var consumeRequest = new HttpRequestMessage(HttpMethod.Post, "/api/v1/msgstream/consume")
        {
            Content = JsonContent.Create(new { channels = new[] { "js" }, subName = "js", timeTickAligned = false, waitMs = 5000 }),
        };
        consumeRequest.Headers.Add("Accept-Type-Allow-Int64", "false");
        using var consumed = await client.SendAsync(consumeRequest);
        using var pack = JsonDocument.Parse(await consumed.Content.ReadAsStringAsync());

        Assert.Equal(JsonValueKind.Number, plain.RootElement.GetProperty("timestamp").ValueKind);
        Assert.Equal(HttpStatusCode.OK, produced.StatusCode);
        var position = positions.RootElement.GetProperty("positions")[0];
        Assert.Equal(JsonValueKind.String, position.GetProperty("msgId").ValueKind);
        Assert.Equal(JsonValueKind.String, position.GetProperty("timestamp").ValueKind);
        Assert.True(ulong.Parse(position.GetProperty("timestamp").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        var msg = pack.RootElement.GetProperty("msgs").EnumerateArray().First(m => m.GetProperty("msgType").GetString() == "Search");
        // 2^53 + 1: a double would have made it ...992.
        Assert.Equal("9007199254740993", msg.GetProperty("id").GetString());
        await GatewayBasicsTests.AssertProblem(
            await client.PostAsJsonAsync("/api/v1/msgstream/produce", new { channels = new[] { "js" }, msgs = new[] { new { msgType = "Search", id = "12a", hashKeys = new[] { 0 }, payload = "" } } }),
            HttpStatusCode.BadRequest);
    }
}
