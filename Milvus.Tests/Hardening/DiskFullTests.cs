using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Milvus.Tests.Api;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Hardening;

/// <summary>A gateway whose data directory is a small tmpfs that fills up under RocksMQ produce.</summary>
public sealed class DiskFullTests
{
    private const int SmallMiB = 16;
    private const int LargeMiB = 96;
    private const int PayloadBytes = 256 * 1024;
    private const int BatchSize = 4;

    [Fact]
    public async Task AFullDataDirectoryGives507ProblemsKeepsTheServerUpAndLosesNothingAcknowledged()
    {
        using var mount = TmpfsMount.Create(SmallMiB);
        await using var gateway = new GatewayProcess(mount.Path);
        await gateway.StartAsync();
        Assert.Equal(HttpStatusCode.Created, (await gateway.Client.PutAsync("api/v1/channels/full", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await gateway.Client.PostAsJsonAsync("api/v1/channels/full/groups", new { groupName = "reader" })).StatusCode);

        // Produce until the disk refuses; 16 MiB hold a few dozen 1 MiB batches at most.
        var acknowledged = new List<(long MsgId, byte[] Hash)>();
        var refusals = new List<HttpStatusCode>();
        for (var batch = 0; batch < 200 && refusals.Count < 5; batch++)
        {
            var payloads = Enumerable.Range(0, BatchSize).Select(_ => RandomNumberGenerator.GetBytes(PayloadBytes)).ToList();
            using var response = await gateway.Client.PostAsJsonAsync("api/v1/channels/full/messages",
                new { messages = payloads.Select(p => new { payload = Convert.ToBase64String(p) }) });
            if (response.StatusCode == HttpStatusCode.Created)
            {
                using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                var ids = body.RootElement.GetProperty("msgIds").EnumerateArray().Select(e => e.GetInt64());
                acknowledged.AddRange(ids.Zip(payloads.Select(SHA256.HashData)));
                continue;
            }
            var problem = await GatewayBasicsTests.AssertProblem(response, response.StatusCode);
            Assert.True(response.StatusCode is HttpStatusCode.InsufficientStorage or HttpStatusCode.ServiceUnavailable,
                $"a full disk answered {(int)response.StatusCode}: {problem}");
            refusals.Add(response.StatusCode);
        }

        Assert.NotEmpty(acknowledged);
        Assert.Contains(HttpStatusCode.InsufficientStorage, refusals);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await gateway.Client.GetAsync("health/ready")).StatusCode);
        Assert.True(gateway.IsRunning);

        // Room again. RocksDB keeps its write error until it reopens, so the gateway is restarted (kill -9, the
        // harshest way) on the same, now larger, directory; every acknowledged message must be there, in order.
        mount.Resize(LargeMiB);
        await gateway.RestartAsync();
        var consumed = new List<(long MsgId, byte[] Hash)>();
        while (true)
        {
            using var body = JsonDocument.Parse(await gateway.Client.GetStringAsync("api/v1/channels/full/groups/reader/messages?n=16"));
            var messages = body.RootElement.GetProperty("messages").EnumerateArray()
                .Select(m => (m.GetProperty("msgId").GetInt64(), SHA256.HashData(m.GetProperty("payload").GetBytesFromBase64()))).ToList();
            if (messages.Count == 0)
            {
                break;
            }
            consumed.AddRange(messages);
        }
        var byId = consumed.ToDictionary(m => m.MsgId, m => m.Hash);
        foreach (var (msgId, hash) in acknowledged)
        {
            Assert.True(byId.TryGetValue(msgId, out var stored), $"acknowledged message {msgId} is missing after the disk filled up");
            Assert.Equal(hash, stored);
        }
        Assert.Equal(acknowledged.Select(m => m.MsgId), consumed.Select(m => m.MsgId).Where(id => acknowledged.Any(a => a.MsgId == id)));

        using var after = await gateway.Client.PostAsJsonAsync("api/v1/channels/full/messages", new { messages = new[] { new { payload = "AQID" } } });
        Assert.Equal(HttpStatusCode.Created, after.StatusCode);
    }
}
