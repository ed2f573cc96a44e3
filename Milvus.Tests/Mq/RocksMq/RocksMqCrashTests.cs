using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Mq.RocksMq;

/// <summary>Scenario 8: a real gateway process is killed with kill -9 in the middle of a stream of batches.</summary>
public sealed class RocksMqCrashTests
{
    private const int BatchSize = 50;

    [Fact]
    public async Task AfterKillNineEveryAcknowledgedMessageIsThereOnceInOrderAndGroupPositionsHold()
    {
        using var dir = new TempDirectory();
        await using var gateway = new GatewayProcess(dir.Path);
        await gateway.StartAsync();
        Assert.Equal(HttpStatusCode.Created, (await gateway.Client.PutAsync("api/v1/channels/crash", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await gateway.Client.PostAsJsonAsync("api/v1/channels/crash/groups", new { groupName = "steady" })).StatusCode);
        var acknowledged = new List<(long MsgId, string Text)>();
        var steadyRead = 0;
        var next = 0;

        for (var round = 0; round < 5; round++)
        {
            // The steady group reads a few messages each round; its position must survive the kill.
            var read = await Consume(gateway.Client, "steady", 7);
            Assert.Equal(acknowledged.Skip(steadyRead).Take(read.Count).Select(m => m.MsgId), read.Select(m => m.MsgId));
            steadyRead += read.Count;

            var threeAcked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var client = gateway.Client;
            var producer = Task.Run(async () =>
            {
                var ackedThisRound = 0;
                while (true)
                {
                    var texts = Enumerable.Range(next, BatchSize).Select(i => $"m{i}").ToList();
                    HttpResponseMessage response;
                    try
                    {
                        response = await client.PostAsJsonAsync("api/v1/channels/crash/messages", new { messages = texts.Select(t => new { payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(t)) }) });
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                    {
                        return texts;
                    }
                    Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                    using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    var ids = body.RootElement.GetProperty("msgIds").EnumerateArray().Select(e => e.GetInt64()).ToList();
                    lock (acknowledged)
                    {
                        acknowledged.AddRange(ids.Zip(texts));
                    }
                    next += BatchSize;
                    if (++ackedThisRound == 3)
                    {
                        threeAcked.TrySetResult();
                    }
                }
            });
            await threeAcked.Task.WaitAsync(TimeSpan.FromSeconds(60));
            gateway.Kill();
            var inFlight = await producer.WaitAsync(TimeSpan.FromSeconds(60));
            await gateway.StartAsync();

            var stored = await ReadAll(gateway.Client, $"verify{round}");
            Assert.Equal(acknowledged, stored.Take(acknowledged.Count));
            var beyond = stored.Skip(acknowledged.Count).Select(m => m.Text).ToList();
            Assert.True(beyond.Count == 0 || beyond.SequenceEqual(inFlight), $"round {round}: {beyond.Count} unacknowledged messages beyond the acknowledged ones");
            Assert.Equal(stored.Count, stored.Select(m => m.MsgId).Distinct().Count());
            if (beyond.Count > 0)
            {
                // The in-flight batch did land: it counts from now on, so the next round continues after it.
                acknowledged.AddRange(stored.Skip(acknowledged.Count));
                next += BatchSize;
            }
            var resumed = await Consume(gateway.Client, "steady", 1);
            Assert.Equal(stored[steadyRead].MsgId, Assert.Single(resumed).MsgId);
            steadyRead++;
        }
    }

    private static async Task<List<(long MsgId, string Text)>> ReadAll(HttpClient client, string group)
    {
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("api/v1/channels/crash/groups", new { groupName = group })).StatusCode);
        var all = new List<(long, string)>();
        for (var batch = await Consume(client, group, 10_000); batch.Count > 0; batch = await Consume(client, group, 10_000))
        {
            all.AddRange(batch);
        }
        return all;
    }

    private static async Task<List<(long MsgId, string Text)>> Consume(HttpClient client, string group, int n)
    {
        using var body = JsonDocument.Parse(await client.GetStringAsync($"api/v1/channels/crash/groups/{group}/messages?n={n}"));
        return [.. body.RootElement.GetProperty("messages").EnumerateArray().Select(m =>
            (m.GetProperty("msgId").GetInt64(), Encoding.UTF8.GetString(m.GetProperty("payload").GetBytesFromBase64())))];
    }
}
