using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Milvus.Tests.Api;

public sealed class GatewayBasicsTests(GatewayBasicsTests.Fixture fixture) : IClassFixture<GatewayBasicsTests.Fixture>
{
    private readonly HttpClient _client = fixture.Factory.CreateClient();

    public sealed class Fixture : IDisposable
    {
        public GatewayFactory Factory { get; } = new();

        public void Dispose() => Factory.Dispose();
    }

    [Fact]
    public async Task LivenessAnswers200()
    {
        var response = await _client.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ReadinessChecksTheDataDirectory()
    {
        var response = await _client.GetAsync("/health/ready");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var checks = body.RootElement.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToList();
        Assert.Contains("data-dir", checks);
    }

    [Fact]
    public async Task ComponentStatesUseTheContractShapeWithStringEnums()
    {
        using var body = JsonDocument.Parse(await _client.GetStringAsync("/api/v1/components/states"));
        var root = body.RootElement;

        var state = root.GetProperty("state");
        Assert.Equal("gateway", state.GetProperty("role").GetString());
        Assert.Equal("Healthy", state.GetProperty("stateCode").GetString());
        Assert.Equal(JsonValueKind.Number, state.GetProperty("nodeId").ValueKind);
        Assert.Equal(JsonValueKind.Array, state.GetProperty("extraInfo").ValueKind);
        Assert.Equal(JsonValueKind.Array, root.GetProperty("subcomponentStates").ValueKind);
        Assert.Equal("Success", root.GetProperty("status").GetProperty("errorCode").GetString());
        Assert.Equal(JsonValueKind.String, root.GetProperty("status").GetProperty("reason").ValueKind);
    }

    [Fact]
    public async Task ParamsShowDottedLowerCaseKeysFilteredByPrefixWithSecretsMasked()
    {
        var all = await _client.GetFromJsonAsync<Dictionary<string, string>>("/api/v1/params?prefix=minio");

        Assert.NotNull(all);
        Assert.All(all.Keys, k => Assert.StartsWith("minio.", k, StringComparison.Ordinal));
        Assert.Equal("***", all["minio.secretkey"]);
        Assert.Equal("milvus-bucket", all["minio.bucket"]);
    }

    [Fact]
    public async Task ParamsIncludeTheShippedYamlLayer()
    {
        var all = await _client.GetFromJsonAsync<Dictionary<string, string>>("/api/v1/params?prefix=common.");

        Assert.NotNull(all);
        Assert.Equal("by-dev", all["common.channameprefix"]);
    }

    [Fact]
    public async Task OverridesOfLiveKeysChangeTheEffectiveTableAndOthersAreRefusedWithNothingStored()
    {
        const string Interval = "/api/v1/params?prefix=redismq.retentionintervalseconds";
        var configured = await _client.GetFromJsonAsync<Dictionary<string, string>>(Interval);
        using var response = await _client.PutAsJsonAsync("/api/v1/params", new { @params = new Dictionary<string, string> { ["redismq.RetentionIntervalSeconds"] = "42" } });
        using var unknown = await _client.PutAsJsonAsync("/api/v1/params", new { @params = new Dictionary<string, string> { ["test.override.value"] = "42", ["redismq.retentionsizeinmb"] = "7" } });
        using var atStart = await _client.PutAsJsonAsync("/api/v1/params", new { @params = new Dictionary<string, string> { ["auth.apikeys.0"] = "k", ["redismq.retentionsizeinmb"] = "7" } });
        using var tooBig = await _client.PutAsJsonAsync("/api/v1/params", new { @params = new Dictionary<string, string> { ["limits.maxmessagebytes"] = "999999999999" } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var all = await _client.GetFromJsonAsync<Dictionary<string, string>>("/api/v1/params?prefix=redismq.");
        Assert.Equal("42", all!["redismq.retentionintervalseconds"]);
        Assert.NotEqual("7", all.GetValueOrDefault("redismq.retentionsizeinmb"));
        Assert.Contains("test.override.value", (await AssertProblem(unknown, HttpStatusCode.BadRequest)).GetRawText(), StringComparison.Ordinal);
        Assert.Contains("auth.apikeys.0", (await AssertProblem(atStart, HttpStatusCode.Conflict)).GetRawText(), StringComparison.Ordinal);
        Assert.Contains("maxrequestbytes", (await AssertProblem(tooBig, HttpStatusCode.BadRequest)).GetRawText(), StringComparison.Ordinal);
        using var layers = JsonDocument.Parse(await _client.GetStringAsync("/api/v1/params/layers?prefix=redismq.retentionintervalseconds"));
        Assert.Equal("run-time override", Assert.Single(layers.RootElement.GetProperty("params").EnumerateArray()).GetProperty("layer").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync("/api/v1/params/redismq.retentionintervalseconds")).StatusCode);
        // The key falls back to its configured value.
        Assert.Equal(configured, await _client.GetFromJsonAsync<Dictionary<string, string>>(Interval));
    }

    [Fact]
    public async Task TheLogLevelOverrideChangesTheHostsLoggingLiveAndItsRemovalRestoresIt()
    {
        var logger = fixture.Factory.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().CreateLogger("Milvus.Tests.LogLevel");
        var before = logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug);

        using var set = await _client.PutAsJsonAsync("/api/v1/params", new { @params = new Dictionary<string, string> { ["log.level"] = "debug" } });
        var during = logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug);
        using var removed = await _client.DeleteAsync("/api/v1/params/log.level");
        var after = logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug);
        using var bad = await _client.PutAsJsonAsync("/api/v1/params", new { @params = new Dictionary<string, string> { ["log.level"] = "loud" } });

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.False(before);
        Assert.True(during);
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.False(after);
        await AssertProblem(bad, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task DuplicateKeysAndOtherCharsetsAreRefusedAndEveryProblemHasADetail()
    {
        using var duplicate = await _client.PostAsync("/api/v1/tso", new StringContent("{\"count\":1,\"count\":2}", Encoding.UTF8, "application/json"));
        using var latin1 = new StringContent("{\"count\":1}");
        latin1.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("application/json; charset=latin1");
        using var otherCharset = await _client.PostAsync("/api/v1/tso", latin1);
        using var invalid = await _client.PostAsJsonAsync("/api/v1/tso", new { count = 0 });

        var duplicateProblem = await AssertProblem(duplicate, HttpStatusCode.BadRequest);
        Assert.Contains("Duplicate property 'count'", duplicateProblem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Milvus.", duplicateProblem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await AssertProblem(otherCharset, HttpStatusCode.UnsupportedMediaType);
        var invalidProblem = await AssertProblem(invalid, HttpStatusCode.BadRequest);
        Assert.StartsWith("count:", invalidProblem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEnumNamePaddedWithSpacesOrAListOfNamesIsA400WhileItsNameOrNumberIsTaken()
    {
        using var made = await _client.PutAsync("/api/v1/channels/strict-enum", null);
        using var padded = await _client.PostAsJsonAsync("/api/v1/channels/strict-enum/groups", new { groupName = "padded", position = "EARLIEST " });
        using var listed = await _client.PostAsJsonAsync("/api/v1/channels/strict-enum/groups", new { groupName = "listed", position = "Earliest,Latest" });
        using var named = await _client.PostAsJsonAsync("/api/v1/channels/strict-enum/groups", new { groupName = "named", position = "latest" });
        using var numbered = await _client.PostAsJsonAsync("/api/v1/channels/strict-enum/groups", new { groupName = "numbered", position = 0 });

        Assert.Contains("'EARLIEST '", (await AssertProblem(padded, HttpStatusCode.BadRequest)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        await AssertProblem(listed, HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.Created, named.StatusCode);
        Assert.Equal(HttpStatusCode.Created, numbered.StatusCode);
    }

    [Fact]
    public async Task NamesEndingInANewlineAre400sThatCreateNothing()
    {
        using var channel = await _client.PutAsync("/api/v1/channels/trailing%0A", null);
        using var made = await _client.PutAsync("/api/v1/channels/newline-host", null);
        using var group = await _client.PostAsJsonAsync("/api/v1/channels/newline-host/groups", new { groupName = "g\n" });
        using var sub = await _client.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels = new[] { "newline-host" }, subName = "s\n" });
        var names = await _client.GetStringAsync("/api/v1/channels");

        await AssertProblem(channel, HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.Created, made.StatusCode);
        await AssertProblem(group, HttpStatusCode.BadRequest);
        await AssertProblem(sub, HttpStatusCode.BadRequest);
        Assert.DoesNotContain("trailing", names, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnInvalidOverrideIsAValidationProblemAndChangesNothing()
    {
        var response = await _client.PutAsJsonAsync("/api/v1/params", new { @params = new Dictionary<string, string> { ["good.key"] = "1", ["bad/key"] = "2" } });

        await AssertProblem(response, HttpStatusCode.BadRequest);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(body.RootElement.TryGetProperty("errors", out _));
        var all = await _client.GetFromJsonAsync<Dictionary<string, string>>("/api/v1/params?prefix=good.");
        Assert.Empty(all!);
    }

    [Fact]
    public async Task MalformedJsonIsA400Problem()
    {
        var response = await _client.PutAsync("/api/v1/params", new StringContent("{\"params\": {\"a\": ", Encoding.UTF8, "application/json"));

        var problem = await AssertProblem(response, HttpStatusCode.BadRequest);
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task AWrongJsonTypeIsA400Problem()
    {
        var response = await _client.PutAsync("/api/v1/params", new StringContent("{\"params\": [1,2,3]}", Encoding.UTF8, "application/json"));

        await AssertProblem(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task AnUnknownRouteIsA404Problem()
    {
        var response = await _client.GetAsync("/api/v1/no-such-route");

        await AssertProblem(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task SwaggerServesTheDocumentAndTheUi()
    {
        using var document = JsonDocument.Parse(await _client.GetStringAsync("/swagger/v1/swagger.json"));
        var paths = document.RootElement.GetProperty("paths");

        foreach (var route in new[] { "/api/v1/components/states", "/api/v1/params" })
        {
            var path = paths.GetProperty(route);
            foreach (var operation in path.EnumerateObject())
            {
                Assert.False(string.IsNullOrWhiteSpace(operation.Value.GetProperty("summary").GetString()), $"{operation.Name} {route} has no summary");
                Assert.NotEmpty(operation.Value.GetProperty("tags").EnumerateArray());
                Assert.True(operation.Value.GetProperty("responses").TryGetProperty("200", out _), $"{operation.Name} {route} declares no 200");
            }
        }
        var ui = await _client.GetAsync("/swagger/index.html");
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        Assert.Contains("swagger-ui", await ui.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    internal static async Task<JsonElement> AssertProblem(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement.Clone();
        Assert.Equal((int)status, root.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("title").GetString()));
        Assert.True(root.TryGetProperty("requestId", out _));
        return root;
    }
}
