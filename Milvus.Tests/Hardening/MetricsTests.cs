using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Milvus.Domain.Kv;
using Milvus.Tests.Api;

namespace Milvus.Tests.Hardening;

public sealed class MetricsTests : IDisposable
{
    private readonly GatewayFactory _factory = new();

    [Fact]
    public async Task MetricsShowRoutesChannelsGroupsLagTsoKvAndRocksMqDisk()
    {
        using var client = _factory.CreateClient();
        (await client.PutAsync("/api/v1/channels/metered", null)).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/channels/metered/groups", new { groupName = "slow" })).EnsureSuccessStatusCode();
        var produce = new { messages = Enumerable.Range(0, 5).Select(i => new { payload = Convert.ToBase64String(BitConverter.GetBytes(i)) }) };
        (await client.PostAsJsonAsync("/api/v1/channels/metered/messages", produce)).EnsureSuccessStatusCode();
        (await client.GetAsync("/api/v1/channels/metered/groups/slow/messages?n=2")).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/tso", new { count = 10 })).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/ids", new { count = 10 })).EnsureSuccessStatusCode();
        // One KV error: an empty key is refused by every backend.
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _factory.Services.GetRequiredService<IMetaKv>().SaveAsync("", "x"));

        var response = await client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lines = text.Split('\n');
        AssertSeries(lines, "milvus_http_server_request_duration_seconds_count", "http_route=\"/api/v1/tso\"");
        AssertSeries(lines, "milvus_mq_channel_produced_messages_total", "channel=\"metered\"");
        AssertSeries(lines, "milvus_mq_channel_consumed_messages_total", "group=\"slow\"");
        var lag = AssertSeries(lines, "milvus_mq_consumer_lag", "group=\"slow\"");
        // Five produced, two consumed: three left for the group.
        Assert.Equal("3", lag[(lag.LastIndexOf('}') + 2)..].Split(' ')[0]);
        AssertSeries(lines, "milvus_tso_issued_timestamps_total", "");
        AssertSeries(lines, "milvus_tso_issued_ids_total", "");
        AssertSeries(lines, "milvus_kv_operation_duration_seconds_count", "backend=\"rocksdb\"");
        AssertSeries(lines, "milvus_kv_operation_errors_total", "store=\"meta\"");
        AssertSeries(lines, "milvus_rocksmq_disk_size_bytes", "path=");
    }

    [Fact]
    public async Task PromtoolFindsNothingToFixAndTheMetricsNameStatesServiceAndRuntimeInSeconds()
    {
        using var client = _factory.CreateClient();
        (await client.PutAsync("/api/v1/channels/linted", null)).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/channels/linted/messages", new { messages = new[] { new { payload = "aGk=" } } })).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/tso", new { count = 1 })).EnsureSuccessStatusCode();
        var text = await client.GetStringAsync("/metrics");

        var start = new System.Diagnostics.ProcessStartInfo(Infrastructure.PrivateServer.Require("MILVUS_TEST_PROMTOOL"))
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add("check");
        start.ArgumentList.Add("metrics");
        using var promtool = System.Diagnostics.Process.Start(start)!;
        var output = promtool.StandardOutput.ReadToEndAsync();
        var errors = promtool.StandardError.ReadToEndAsync();
        await promtool.StandardInput.WriteAsync(text);
        promtool.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await promtool.WaitForExitAsync(timeout.Token);

        var report = (await output + await errors).Trim();
        Assert.True(promtool.ExitCode == 0 && report.Length == 0, $"promtool check metrics:\n{report}");
        var lines = text.Split('\n');
        AssertSeries(lines, "milvus_component_state", "role=\"gateway\"");
        Assert.EndsWith(" 1", AssertSeries(lines, "milvus_component_state", "role=\"tso\"").Split(" # ")[0], StringComparison.Ordinal);
        AssertSeries(lines, "target_info", "service_name=\"milvus-gateway\"");
        Assert.Contains(lines, l => l.StartsWith("milvus_dotnet_gc_", StringComparison.Ordinal));
        // Seconds with second buckets: a fast KV call lands in a bucket of a millisecond, not of five seconds.
        AssertSeries(lines, "milvus_kv_operation_duration_seconds_bucket", "le=\"0.001\"");
        Assert.DoesNotContain(lines, l => l.StartsWith("milvus_mq_produced_messages", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EveryMetricTheGrafanaDashboardQueriesIsExported()
    {
        using var client = _factory.CreateClient();
        (await client.PutAsync("/api/v1/channels/dashboard", null)).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/channels/dashboard/groups", new { groupName = "panel" })).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/msgstream/produce", new
        {
            channels = new[] { "dashboard" },
            msgs = new[] { new { msgType = "Search", hashKeys = new[] { 0 }, payload = "aGk=" } },
        })).EnsureSuccessStatusCode();
        // A queue message that is not a stream message, for the skipped counter.
        (await client.PostAsJsonAsync("/api/v1/channels/dashboard/messages", new { messages = new[] { new { payload = "aGk=" } } })).EnsureSuccessStatusCode();
        (await client.GetAsync("/api/v1/channels/dashboard/groups/panel/messages?n=1")).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels = new[] { "dashboard" }, subName = "panel-sub", waitMs = 500 })).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/tso", new { count = 1 })).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/ids", new { count = 1 })).EnsureSuccessStatusCode();
        var dashboard = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Infrastructure.RepositoryFiles.PathOf("docs", "grafana", "milvus-gateway.json")))!;
        var queried = dashboard["panels"]!.AsArray()
            .SelectMany(p => p!["targets"]!.AsArray().Select(t => t!["expr"]!.GetValue<string>()))
            .SelectMany(e => System.Text.RegularExpressions.Regex.Matches(e, "milvus_[a-z0-9_]+").Select(m => m.Value))
            .Distinct()
            .ToList();

        // The tick lag appears with the first tick into the channel: wait for it, and for the rest, a while.
        static bool Exported(string[] lines, string name) => lines.Any(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal));
        var lines = (await client.GetStringAsync("/metrics")).Split('\n');
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!queried.All(name => Exported(lines, name)) && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
            lines = (await client.GetStringAsync("/metrics")).Split('\n');
        }

        Assert.True(queried.Count >= 10, $"the dashboard queries only {queried.Count} metrics");
        Assert.All(queried, name => Assert.Contains(lines, l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal)));
    }

    public void Dispose() => _factory.Dispose();

    private static string AssertSeries(string[] lines, string name, string label)
    {
        var series = lines.FirstOrDefault(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains(label, StringComparison.Ordinal))
            ?? lines.FirstOrDefault(l => label.Length == 0 && l.StartsWith(name + " ", StringComparison.Ordinal));
        Assert.True(series is not null, $"/metrics has no {name} with {label}:\n{string.Join('\n', lines.Where(l => l.StartsWith("milvus_", StringComparison.Ordinal)).Select(l => l.Split('{')[0]).Distinct())}");
        return series;
    }
}
