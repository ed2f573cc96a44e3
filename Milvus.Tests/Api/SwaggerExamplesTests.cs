using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Milvus.Tests.Api;

/// <summary>The request examples of the OpenAPI document work as they are, as "Try it out" in Swagger UI sends them.</summary>
public sealed class SwaggerExamplesTests
{
    [Fact]
    public async Task TheAllocationAndStreamExamplesSucceedUnedited()
    {
        using var factory = new GatewayFactory();
        using var client = factory.CreateClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"));
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");
        JsonElement Example(string schema) => schemas.GetProperty(schema).GetProperty("example");

        // The stream examples name the channel that this route's own example makes.
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsync("/api/v1/channels/demo", null)).StatusCode);
        var answers = new Dictionary<string, HttpStatusCode>
        {
            ["tso"] = (await client.PostAsJsonAsync("/api/v1/tso", Example("TimestampRequest"))).StatusCode,
            ["ids"] = (await client.PostAsJsonAsync("/api/v1/ids", Example("IdRequest"))).StatusCode,
            ["produce"] = (await client.PostAsJsonAsync("/api/v1/msgstream/produce", Example("StreamProduceRequest"))).StatusCode,
            ["consume"] = (await client.PostAsJsonAsync("/api/v1/msgstream/consume", Example("StreamConsumeRequest"))).StatusCode,
        };

        Assert.All(answers, a => Assert.True(a.Value == HttpStatusCode.OK, $"the {a.Key} example answered {(int)a.Value}"));
    }

    [Fact]
    public async Task EnumsAreDocumentedAsTheirNamesAndUnsignedValuesWithTheirRanges()
    {
        using var factory = new GatewayFactory();
        using var client = factory.CreateClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"));
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");

        foreach (var name in new[] { "StateCode", "ErrorCode", "SessionEventType" })
        {
            var schema = schemas.GetProperty(name);
            Assert.Equal("string", schema.GetProperty("type").GetString());
            Assert.All(schema.GetProperty("enum").EnumerateArray(), e => Assert.Equal(JsonValueKind.String, e.ValueKind));
        }
        Assert.Contains("Healthy", schemas.GetProperty("StateCode").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        var hashKey = schemas.GetProperty("StreamMsg").GetProperty("properties").GetProperty("hashKeys").GetProperty("items");
        Assert.Equal("uint32", hashKey.GetProperty("format").GetString());
        Assert.Equal(uint.MaxValue, hashKey.GetProperty("maximum").GetUInt32());
        var timestamp = schemas.GetProperty("StreamPosition").GetProperty("properties").GetProperty("timestamp");
        Assert.Equal("uint64", timestamp.GetProperty("format").GetString());
        Assert.Equal(ulong.MaxValue, timestamp.GetProperty("maximum").GetUInt64());
    }
}
