using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Milvus.Tests.Api;

namespace Milvus.Tests.Hardening;

/// <summary>API keys (configured or presented) never show in the parameter table, the logs or problem details.</summary>
public sealed class SecretsTests : IDisposable
{
    private const string Key = "k3y-that-must-never-leak-4d1c";
    private const string WrongKey = "wr0ng-key-that-must-never-leak-9f2a";

    private readonly CapturingLoggerProvider _logs = new();
    private readonly GatewayFactory _factory = new(new Dictionary<string, string?>
    {
        ["Milvus:Auth:ApiKeys:0"] = Key,
        ["Logging:LogLevel:Default"] = "Trace",
        ["Logging:LogLevel:Microsoft"] = "Trace",
    });

    [Fact]
    public async Task KeysNeverAppearInParamsLogsOrProblemDetails()
    {
        using var factory = _factory.WithWebHostBuilder(builder => builder.ConfigureServices(services => services.AddSingleton<ILoggerProvider>(_logs)));
        using var authorized = factory.CreateClient();
        authorized.DefaultRequestHeaders.Add("X-Api-Key", Key);
        using var bearer = factory.CreateClient();
        bearer.DefaultRequestHeaders.Add("Authorization", "Bearer " + WrongKey);
        using var anonymous = factory.CreateClient();
        var answers = new StringBuilder();

        async Task Record(Task<HttpResponseMessage> call)
        {
            using var response = await call;
            answers.Append((int)response.StatusCode).Append(' ').Append(response.Headers).Append(await response.Content.ReadAsStringAsync()).Append('\n');
        }

        await Record(authorized.GetAsync("/api/v1/params"));
        await Record(authorized.GetAsync("/api/v1/params?prefix=milvus.auth"));
        await Record(authorized.PutAsJsonAsync("/api/v1/params", new { @params = new Dictionary<string, string> { ["milvus.auth.apikeys.0"] = Key } }));
        await Record(authorized.PostAsync("/api/v1/tso", new StringContent("{\"count\":", Encoding.UTF8, "application/json")));
        await Record(authorized.PutAsync("/api/v1/channels/bad%2Fname", null));
        await Record(authorized.GetAsync("/api/v1/no-such-route"));
        await Record(bearer.GetAsync("/api/v1/components/states"));
        await Record(bearer.PostAsJsonAsync("/api/v1/ids", new { count = 1 }));
        await Record(anonymous.GetAsync("/metrics"));
        await Record(anonymous.GetAsync($"/api/v1/params?key={WrongKey}"));

        var text = answers.ToString();
        Assert.Contains("401", text, StringComparison.Ordinal);
        Assert.Contains("\"auth.apikeys\":\"***\"", text.Replace(" ", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
        // An override of a key is refused (it is no parameter a run-time override can set), naming the key, not the value.
        Assert.Contains("milvus.auth.apikeys.0 is not a parameter", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, text, StringComparison.Ordinal);
        Assert.DoesNotContain(WrongKey, text, StringComparison.Ordinal);
        var logs = _logs.Text();
        Assert.NotEmpty(logs);
        Assert.DoesNotContain(Key, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(WrongKey, logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CredentialsInsideAConnectionStringOrAnEndpointUrlAreMaskedInTheParameterTable()
    {
        using var factory = new Api.GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Redis:Configuration"] = "127.0.0.1:6379,password=hunter2,ssl=false",
            ["Milvus:Etcd:Endpoints"] = "http://root:etcd-pass@127.0.0.1:2379,http://127.0.0.1:2380",
        });
        using var client = factory.CreateClient();

        var table = await client.GetStringAsync("/api/v1/params");
        var layers = await client.GetStringAsync("/api/v1/params/layers");

        Assert.DoesNotContain("hunter2", table + layers, StringComparison.Ordinal);
        Assert.DoesNotContain("etcd-pass", table + layers, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:6379,password=***,ssl=false", table, StringComparison.Ordinal);
        Assert.Contains("http://***@127.0.0.1:2379,http://127.0.0.1:2380", table, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _factory.Dispose();
        _logs.Dispose();
    }

    /// <summary>Keeps every log entry of every category at every level: message, state and exception.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _entries = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

        public string Text() => string.Join('\n', _entries);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
            {
                entries.Enqueue($"{category} scope {state}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue($"{category} {logLevel} {formatter(state, exception)} {state} {exception}");
        }
    }
}
