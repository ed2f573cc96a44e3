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

    public void Dispose() => _factory.Dispose();

    private static string AssertSeries(string[] lines, string name, string label)
    {
        var series = lines.FirstOrDefault(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains(label, StringComparison.Ordinal))
            ?? lines.FirstOrDefault(l => label.Length == 0 && l.StartsWith(name + " ", StringComparison.Ordinal));
        Assert.True(series is not null, $"/metrics has no {name} with {label}:\n{string.Join('\n', lines.Where(l => l.StartsWith("milvus_", StringComparison.Ordinal)).Select(l => l.Split('{')[0]).Distinct())}");
        return series;
    }
}
