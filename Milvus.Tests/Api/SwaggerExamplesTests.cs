using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Milvus.Tests.Archive;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Api;

/// <summary>The OpenAPI document: its examples work as Swagger UI sends them, it documents every answer, and Redocly finds no error in it.</summary>
public sealed class SwaggerExamplesTests
{
    [Fact]
    public async Task EveryOperationsExampleAnswers2xxWhenRunFromTheTopOfTheDocumentDown()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:TimeTick:IntervalMs"] = "20",
            ["Milvus:Archive:Enabled"] = "true",
            ["Milvus:Archive:DiscoveryIntervalMs"] = "50",
            ["Milvus:Archive:MaxSegmentMs"] = "1",
        });
        using var client = factory.CreateClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"));
        var root = document.RootElement;
        var answers = new List<(string Operation, HttpStatusCode Status)>();
        JsonElement? lastConsume = null;

        foreach (var path in root.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var id = operation.Value.GetProperty("operationId").GetString()!;
                var (url, body) = ExampleRequest(root, path.Name, operation.Value);
                // What the examples' own descriptions ask for first.
                switch (id)
                {
                    case "DestroyChannels":
                        Assert.Contains("PUT /api/v1/channels/demo-trash", operation.Value.GetProperty("description").GetString(), StringComparison.Ordinal);
                        Assert.Equal(HttpStatusCode.Created, (await client.PutAsync("/api/v1/channels/demo-trash", null)).StatusCode);
                        break;
                    case "SeekMsgStream":
                        Assert.Contains("startPositions", operation.Value.GetProperty("description").GetString(), StringComparison.Ordinal);
                        var position = lastConsume!.Value.GetProperty("startPositions")[0];
                        body!["positions"]![0]!["msgId"] = position.GetProperty("msgId").GetInt64();
                        break;
                    case "GetSegment":
                        await ArchiveClient.WaitForArchivedAsync(client, "demo", 1);
                        break;
                }
                using var request = new HttpRequestMessage(new HttpMethod(operation.Name.ToUpperInvariant()), url);
                if (body is not null)
                {
                    request.Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
                }
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                answers.Add((id, response.StatusCode));
                if (id == "ConsumeMsgStream" && response.IsSuccessStatusCode)
                {
                    lastConsume = (await response.Content.ReadFromJsonAsync<JsonElement>()).Clone();
                }
                else if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
                {
                    await response.Content.ReadAsStringAsync();
                }
            }
        }

        Assert.Equal(27, answers.Count);
        Assert.All(answers, a => Assert.True((int)a.Status is >= 200 and < 300, $"the {a.Operation} example answered {(int)a.Status}"));
    }

    [Fact]
    public async Task EveryOperationDocumentsItsProblemsAndDescriptionsAndNoSchemaOfOursIsNullable()
    {
        using var factory = new GatewayFactory();
        using var client = factory.CreateClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"));
        var root = document.RootElement;

        foreach (var path in root.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var responses = operation.Value.GetProperty("responses");
                var expected = new List<string> { "401", "429", "503" };
                if (operation.Value.TryGetProperty("requestBody", out _))
                {
                    expected.AddRange(["400", "413", "415"]);
                }
                foreach (var status in expected)
                {
                    Assert.True(responses.TryGetProperty(status, out var response), $"{operation.Name} {path.Name} does not document {status}");
                    Assert.True(response.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{operation.Name} {path.Name} {status} is not problem+json");
                }
                Assert.False(string.IsNullOrWhiteSpace(operation.Value.GetProperty("summary").GetString()));
            }
        }
        var produce = root.GetProperty("paths").GetProperty("/api/v1/msgstream/produce").GetProperty("post");
        Assert.StartsWith("Repacks 1 to 10000 msgs", produce.GetProperty("description").GetString(), StringComparison.Ordinal);
        var subscribe = root.GetProperty("paths").GetProperty("/api/v1/msgstream/subscribe").GetProperty("get").GetProperty("responses").GetProperty("200");
        Assert.Contains("event: msgpack", subscribe.GetProperty("description").GetString(), StringComparison.Ordinal);
        var schemas = root.GetProperty("components").GetProperty("schemas");
        foreach (var schema in schemas.EnumerateObject().Where(s => !s.Name.Contains("ProblemDetails", StringComparison.Ordinal)))
        {
            foreach (var property in schema.Value.TryGetProperty("properties", out var properties) ? properties.EnumerateObject() : Enumerable.Empty<JsonProperty>())
            {
                Assert.False(property.Value.TryGetProperty("nullable", out _), $"{schema.Name}.{property.Name} is nullable");
            }
        }
        Assert.Equal(["channels", "msgs"], schemas.GetProperty("StreamProduceRequest").GetProperty("required").EnumerateArray().Select(e => e.GetString()).Order());
        Assert.Equal(["msgType"], schemas.GetProperty("StreamMsg").GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        var channels = schemas.GetProperty("StreamProduceRequest").GetProperty("properties").GetProperty("channels");
        Assert.Equal(1, channels.GetProperty("minItems").GetInt32());
        Assert.Equal(1024, channels.GetProperty("maxItems").GetInt32());
        Assert.Equal(Milvus.Domain.Mq.MqNames.Pattern, channels.GetProperty("items").GetProperty("pattern").GetString());
        Assert.Contains("skipped", schemas.GetProperty("StreamPackResponse").GetProperty("required").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task RedoclyLintFindsNoErrorInTheDocument()
    {
        using var factory = new GatewayFactory();
        using var client = factory.CreateClient();
        using var directory = new TempDirectory();
        var file = Path.Combine(directory.Path, "openapi.json");
        await File.WriteAllTextAsync(file, await client.GetStringAsync("/swagger/v1/swagger.json"));

        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = directory.Path };
        foreach (var argument in new[] { PrivateServer.Require("MILVUS_TEST_REDOCLY_JS"), "lint", file, "--format=stylish" })
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["REDOCLY_TELEMETRY"] = "off";
        start.Environment["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true";
        using var lint = Process.Start(start)!;
        var output = lint.StandardOutput.ReadToEndAsync();
        var errors = lint.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await lint.WaitForExitAsync(timeout.Token);

        var text = await output + await errors;
        Assert.True(lint.ExitCode == 0, $"redocly lint failed:\n{text}");
        Assert.DoesNotContain(" error ", text, StringComparison.Ordinal);
    }

    /// <summary>The URL and body that Swagger UI's "Try it out" sends for an operation, unedited: every parameter's example, and the body's.</summary>
    private static (string Url, JsonNode? Body) ExampleRequest(JsonElement root, string path, JsonElement operation)
    {
        var url = path;
        var query = new List<string>();
        foreach (var parameter in operation.TryGetProperty("parameters", out var parameters) ? parameters.EnumerateArray() : Enumerable.Empty<JsonElement>())
        {
            var name = parameter.GetProperty("name").GetString()!;
            if (!parameter.TryGetProperty("example", out var example))
            {
                Assert.False(parameter.TryGetProperty("required", out var required) && required.GetBoolean(), $"the required parameter {name} of {path} has no example");
                continue;
            }
            var value = example.ValueKind == JsonValueKind.String ? example.GetString()! : example.GetRawText();
            if (parameter.GetProperty("in").GetString() == "path")
            {
                url = url.Replace($"{{{name}}}", Uri.EscapeDataString(value), StringComparison.Ordinal);
            }
            else
            {
                query.Add($"{name}={Uri.EscapeDataString(value)}");
            }
        }
        if (query.Count > 0)
        {
            url += "?" + string.Join('&', query);
        }
        if (!operation.TryGetProperty("requestBody", out var requestBody))
        {
            return (url, null);
        }
        var media = requestBody.GetProperty("content").GetProperty("application/json");
        if (media.TryGetProperty("example", out var own))
        {
            return (url, JsonNode.Parse(own.GetRawText()));
        }
        var reference = media.GetProperty("schema").GetProperty("$ref").GetString()!;
        var schema = root.GetProperty("components").GetProperty("schemas").GetProperty(reference[(reference.LastIndexOf('/') + 1)..]);
        Assert.True(schema.TryGetProperty("example", out var schemaExample), $"the body of {path} has no example");
        return (url, JsonNode.Parse(schemaExample.GetRawText()));
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
