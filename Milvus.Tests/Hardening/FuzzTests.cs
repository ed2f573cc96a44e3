using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Milvus.Tests.Api;
using Xunit.Abstractions;

namespace Milvus.Tests.Hardening;

/// <summary>
/// The fuzz suite: for every operation of the gateway's OpenAPI document, thousands of malformed requests, with
/// a seeded generator. Set <c>MILVUS_FUZZ_SEED</c> to replay a run; the seed is printed with every failure.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>At least this many requests run, spread evenly over the operations.</summary>
    private const int MinimumRequests = 6_000;

    private const int Parallelism = 4;

    private static readonly Dictionary<string, string> ExistingNames = new(StringComparer.Ordinal)
    {
        ["channel"] = "fuzz-channel",
        ["group"] = "fuzz-group",
    };

    private readonly GatewayFactory _factory = new();

    private static readonly string[] LiveStatusEntries = ["GET /api/v1/components/states", "GET /api/v1/sessions"];

    private static readonly HashSet<string> EventStreamRoutes = new(StringComparer.Ordinal)
    {
        "/api/v1/sessions/watch",
        "/api/v1/msgstream/subscribe",
    };

    [Fact]
    public async Task MalformedRequestsOnEveryRouteGet4xxProblemsAndChangeNothing()
    {
        var seed = Environment.GetEnvironmentVariable("MILVUS_FUZZ_SEED") is { Length: > 0 } fixedSeed
            ? int.Parse(fixedSeed, CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        output.WriteLine($"fuzz seed {seed} (replay with MILVUS_FUZZ_SEED={seed})");
        using var client = _factory.CreateClient();
        client.Timeout = TimeSpan.FromSeconds(90); // above the longest wait a consume may ask for (30 s)

        // Event streams never end by themselves, so a request that opens one cannot be judged by its whole answer;
        // their validation is covered by their own tests (SessionsApiTests, MsgStreamApi tests).
        var operations = OpenApiOperations.Read(await client.GetStringAsync("/swagger/v1/swagger.json"))
            .Where(o => !EventStreamRoutes.Contains(o.PathTemplate))
            .ToList();
        Assert.NotEmpty(operations);
        await SeedStateAsync(client);
        var knownGroups = new Dictionary<string, string> { [ExistingNames["channel"]] = ExistingNames["group"] };
        var first = await GatewayStateSnapshot.TakeAsync(client, _factory.Services, operations, knownGroups);
        var second = await GatewayStateSnapshot.TakeAsync(client, _factory.Services, operations, knownGroups);
        // Component states and the session listing report live runtime (ticks, leases, the meta revision that the
        // TSO's window saves move), so they change by themselves over a run; the stores are compared in full.
        var volatileEntries = first.Differences(second).Concat(LiveStatusEntries).Distinct().ToList();
        output.WriteLine($"{operations.Count} operations; left out of the state comparison as self-changing: {string.Join(", ", volatileEntries)}");

        // Each operation gets its own generator, seeded from the run's seed and its position, so a failure
        // replays whatever the interleaving of the parallel requests.
        var perOperation = (MinimumRequests + operations.Count - 1) / operations.Count;
        var requests = operations
            .SelectMany((operation, i) =>
            {
                var generator = new MalformedRequests(new Random(HashCode.Combine(seed, i)), ExistingNames);
                return Enumerable.Range(0, perOperation).Select(_ => generator.Next(operation)).ToList();
            })
            .ToList();
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        var sent = 0;
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (request, cancellationToken) =>
        {
            var failure = await SendAndCheckAsync(client, request, statuses, cancellationToken);
            if (failure is not null)
            {
                failures.Enqueue($"seed {seed}: {request.Describe()}\n    -> {failure}");
            }
            if (Interlocked.Increment(ref sent) % 500 == 0)
            {
                using var live = await client.GetAsync("/health/live", cancellationToken);
                if (live.StatusCode != HttpStatusCode.OK)
                {
                    failures.Enqueue($"seed {seed}: /health/live answered {(int)live.StatusCode} after {sent} requests");
                }
            }
        });

        output.WriteLine($"{requests.Count} requests; statuses: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}");
        Assert.True(requests.Count >= MinimumRequests, $"only {requests.Count} requests were generated");
        Assert.True(failures.IsEmpty, $"{failures.Count} of {requests.Count} requests broke the contract:\n{string.Join("\n", failures.Take(25))}");

        using var liveness = await client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, liveness.StatusCode);
        var after = await GatewayStateSnapshot.TakeAsync(client, _factory.Services, operations, knownGroups);
        var changed = second.Without(volatileEntries).Differences(after.Without(volatileEntries));
        Assert.True(changed.Count == 0,
            $"seed {seed}: stored state changed: {string.Join("\n", changed.Select(k => $"{k}:\n  before: {second[k]}\n  after:  {after[k]}"))}");
    }

    public void Dispose() => _factory.Dispose();

    /// <summary>A channel with messages and a group, so that routes on existing things have something to refuse.</summary>
    private static async Task SeedStateAsync(HttpClient client)
    {
        var channel = ExistingNames["channel"];
        (await client.PutAsJsonAsync($"/api/v1/channels/{channel}", new { })).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync($"/api/v1/channels/{channel}/messages", new { messages = new[] { new { payload = "AQI=" }, new { payload = "AwQ=" } } })).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync($"/api/v1/channels/{channel}/groups", new { groupName = ExistingNames["group"] })).EnsureSuccessStatusCode();
    }

    /// <summary>Sends one request; returns what is wrong with the answer, or null when it keeps the contract.</summary>
    private static async Task<string?> SendAndCheckAsync(HttpClient client, FuzzRequest request, ConcurrentDictionary<int, int> statuses, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(request.Url, UriKind.Relative));
        if (request.Header is { } header)
        {
            message.Headers.TryAddWithoutValidation(header.Name, header.Value);
        }
        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(request.Body);
            if (request.ContentType is not null)
            {
                message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
            }
        }
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(message, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            return $"no answer: {ex.GetType().Name}: {ex.Message}";
        }
        using (response)
        {
            var status = (int)response.StatusCode;
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            string body;
            try
            {
                body = await response.Content.ReadAsStringAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                // The server began an answer and then broke it off: as bad as a 5xx.
                return $"{status} with a body broken off: {ex.GetType().Name}: {ex.Message} ({ex.InnerException?.InnerException?.Message})";
            }
            if (status >= 500)
            {
                return $"{status}: {body}";
            }
            if (status < 400)
            {
                return null;
            }
            return ProblemError(status, response.Content.Headers.ContentType, body);
        }
    }

    private static string? ProblemError(int status, MediaTypeHeaderValue? contentType, string body)
    {
        if (contentType?.MediaType != "application/problem+json")
        {
            return $"{status} with content type {contentType?.MediaType ?? "(none)"}, not a problem: {body}";
        }
        try
        {
            using var problem = JsonDocument.Parse(body);
            var root = problem.RootElement;
            if (!root.TryGetProperty("status", out var statusField) || statusField.GetInt32() != status)
            {
                return $"{status} problem without a matching status: {body}";
            }
            if (!root.TryGetProperty("title", out var title) || string.IsNullOrWhiteSpace(title.GetString()))
            {
                return $"{status} problem without a title: {body}";
            }
            if (body.Contains("   at ", StringComparison.Ordinal) || body.Contains("Exception", StringComparison.Ordinal))
            {
                return $"{status} problem shows internals: {body}";
            }
            return null;
        }
        catch (JsonException ex)
        {
            return $"{status} problem that is not JSON ({ex.Message}): {body}";
        }
    }
}
