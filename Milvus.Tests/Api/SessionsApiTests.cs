using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Milvus.Domain.Kv;
using Milvus.Domain.Sessions;

namespace Milvus.Tests.Api;

/// <summary>The sessions routes, and the gateway's own registrations, on the embedded meta KV.</summary>
public sealed class SessionsApiTests(SessionsApiTests.Fixture fixture) : IClassFixture<SessionsApiTests.Fixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly HttpClient _client = fixture.Factory.CreateClient();

    public sealed class Fixture : IDisposable
    {
        public GatewayFactory Factory { get; } = new();

        public void Dispose() => Factory.Dispose();
    }

    [Fact]
    public async Task TheEmbeddedGatewayRegistersItselfAndIsTheActiveTso()
    {
        using var states = JsonDocument.Parse(await _client.GetStringAsync("/api/v1/components/states"));
        var subcomponents = states.RootElement.GetProperty("subcomponentStates").EnumerateArray().ToList();
        var session = subcomponents.Single(c => c.GetProperty("role").GetString() == "session");
        var tso = subcomponents.Single(c => c.GetProperty("role").GetString() == "tso");

        Assert.Equal("Healthy", session.GetProperty("stateCode").GetString());
        Assert.Equal("Healthy", tso.GetProperty("stateCode").GetString());

        using var listed = JsonDocument.Parse(await _client.GetStringAsync("/api/v1/sessions"));
        var sessions = listed.RootElement.GetProperty("sessions").EnumerateArray().ToList();
        Assert.True(listed.RootElement.GetProperty("revision").GetInt64() > 0);
        var gateway = sessions.Single(s => s.GetProperty("serverName").GetString() == "gateway");
        Assert.Equal(session.GetProperty("nodeId").GetInt64(), gateway.GetProperty("serverId").GetInt64());
        // The gateway and the components without a session of their own report the gateway's node id.
        Assert.Equal(gateway.GetProperty("serverId").GetInt64(), states.RootElement.GetProperty("state").GetProperty("nodeId").GetInt64());
        Assert.Equal(gateway.GetProperty("serverId").GetInt64(), subcomponents.Single(c => c.GetProperty("role").GetString() == "timetick").GetProperty("nodeId").GetInt64());
        Assert.False(gateway.GetProperty("exclusive").GetBoolean());
        Assert.False(gateway.GetProperty("stopping").GetBoolean());
        var active = sessions.Single(s => s.GetProperty("key").GetString() == "tso");
        Assert.True(active.GetProperty("exclusive").GetBoolean());
        Assert.Equal(tso.GetProperty("nodeId").GetInt64(), active.GetProperty("serverId").GetInt64());
    }

    [Fact]
    public async Task APrefixThatMatchesNothingListsNothingAndABadPrefixIsA400()
    {
        using var listed = JsonDocument.Parse(await _client.GetStringAsync("/api/v1/sessions?prefix=nothing-matches"));
        Assert.Empty(listed.RootElement.GetProperty("sessions").EnumerateArray());

        var problem = await GatewayBasicsTests.AssertProblem(await _client.GetAsync("/api/v1/sessions?prefix=a%2Fb"), HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("prefix", out _));
        await GatewayBasicsTests.AssertProblem(await _client.GetAsync("/api/v1/sessions/watch?revision=-1"), HttpStatusCode.BadRequest);
        await GatewayBasicsTests.AssertProblem(await _client.GetAsync("/api/v1/sessions/watch?revision=abc"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task TheWatchAnswersItsHeadersAtOnceAndBothEventRoutesAreDocumentedAsEventStreams()
    {
        using var timeout = new CancellationTokenSource(Patience);

        // Nothing changes under this prefix: the headers must not wait for a first event.
        using var watch = await _client.GetAsync("/api/v1/sessions/watch?prefix=nothing-here", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var document = JsonDocument.Parse(await _client.GetStringAsync("/swagger/v1/swagger.json"));

        Assert.Equal(HttpStatusCode.OK, watch.StatusCode);
        Assert.Equal("text/event-stream", watch.Content.Headers.ContentType?.MediaType);
        foreach (var path in new[] { "/api/v1/sessions/watch", "/api/v1/msgstream/subscribe" })
        {
            var ok = document.RootElement.GetProperty("paths").GetProperty(path).GetProperty("get").GetProperty("responses").GetProperty("200");
            Assert.True(ok.GetProperty("content").TryGetProperty("text/event-stream", out _), $"{path} documents no text/event-stream answer");
        }
    }

    [Fact]
    public async Task TheWatchStreamsAddUpdateAndDelAfterTheListedRevision()
    {
        using var listed = JsonDocument.Parse(await _client.GetStringAsync("/api/v1/sessions?prefix=watched"));
        var revision = listed.RootElement.GetProperty("revision").GetInt64();
        var kv = fixture.Factory.Services.GetRequiredService<IMetaKv>();
        await using var session = new Session(kv, 60, loggerFactory: NullLoggerFactory.Instance);
        await session.InitAsync("watched", "http://10.1.2.3:19530", exclusive: false);
        await session.StopAsync();

        using var patience = new CancellationTokenSource(Patience);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/sessions/watch?prefix=watched&revision={revision}");
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, patience.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(patience.Token));
        var events = new List<JsonElement>();
        while (events.Count < 3)
        {
            var line = await reader.ReadLineAsync(patience.Token) ?? throw new InvalidOperationException("The stream ended.");
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone());
            }
        }

        Assert.Equal(["Add", "Update", "Del"], events.Select(e => e.GetProperty("eventType").GetString()));
        Assert.All(events, e => Assert.Equal(session.ServerId, e.GetProperty("session").GetProperty("serverId").GetInt64()));
        Assert.Equal("http://10.1.2.3:19530", events[0].GetProperty("session").GetProperty("address").GetString());
        Assert.True(events[1].GetProperty("session").GetProperty("stopping").GetBoolean());
    }
}
