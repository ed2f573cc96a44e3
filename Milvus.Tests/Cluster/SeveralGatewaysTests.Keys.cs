using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Milvus.Tests.Cluster;

/// <summary>
/// Keyed produces retried round-robin across kill -9 of gateways: each write has its Idempotency-Key, and a client
/// that gets no answer (its gateway died mid-call) tries the next gateway with the same key until one answers.
/// </summary>
public sealed partial class SeveralGatewaysTests
{
    [Fact]
    public async Task KeyedProducesRetriedRoundRobinAcrossKillsAreStoredExactlyOnceAtTheIdsTheyWereAnsweredWith()
    {
        await using var cluster = await GatewayCluster.StartAsync(3);
        var setup = cluster.Gateways[0].Client;
        Assert.Equal(HttpStatusCode.Created, (await setup.PutAsJsonAsync("api/v1/channels/keyed", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await setup.PostAsJsonAsync("api/v1/channels/keyed/groups", new { groupName = "audit" })).StatusCode);

        var acked = new ConcurrentDictionary<string, long[]>(StringComparer.Ordinal);
        var unexpected = new ConcurrentQueue<string>();
        int retries = 0, replays = 0, turn = -1;
        using var stop = new CancellationTokenSource();
        async Task ProduceAsync(int producer)
        {
            for (var i = 0; !stop.IsCancellationRequested && i < 3000; i++)
            {
                var key = $"p{producer}-{i}";
                // A write once started is retried until it is answered, even after the stop: its outcome must be known.
                for (var attempt = 0; ; attempt++)
                {
                    if (attempt > 0)
                    {
                        Interlocked.Increment(ref retries);
                        Assert.True(attempt < 200, $"{key} was not answered in 200 tries");
                    }
                    var gateway = cluster.Gateways[(Interlocked.Increment(ref turn) & int.MaxValue) % cluster.Gateways.Count];
                    using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/channels/keyed/messages")
                    {
                        Content = JsonContent.Create(new { messages = new[] { new { payload = Text(key, "a") }, new { payload = Text(key, "b") } } }),
                    };
                    request.Headers.Add("Idempotency-Key", key);
                    try
                    {
                        using var response = await gateway.Client.SendAsync(request);
                        if (response.StatusCode == HttpStatusCode.Created)
                        {
                            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                            acked[key] = [.. body.RootElement.GetProperty("msgIds").EnumerateArray().Select(id => id.GetInt64())];
                            if (response.Headers.Contains("Idempotent-Replayed"))
                            {
                                Interlocked.Increment(ref replays);
                            }
                            break;
                        }
                        if ((int)response.StatusCode < 500)
                        {
                            unexpected.Enqueue($"{key}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                            break;
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or ObjectDisposedException or TaskCanceledException)
                    {
                        // The gateway died mid-call or is being restarted: the outcome is unknown, so try again.
                    }
                }
            }
        }
        var producers = Enumerable.Range(0, 3).Select(p => Task.Run(() => ProduceAsync(p))).ToArray();

        foreach (var victim in new[] { cluster.Gateways[1], cluster.Gateways[2] })
        {
            var mark = acked.Count;
            await WaitUntilAsync(() => Task.FromResult(acked.Count >= mark + 300), "traffic before a kill");
            victim.Kill();
            output.WriteLine($"killed a gateway at {acked.Count} acknowledged writes");
            mark = acked.Count;
            await WaitUntilAsync(() => Task.FromResult(acked.Count >= mark + 300), "traffic after the kill");
            await victim.StartAsync(requireReady: true);
        }
        await stop.CancelAsync();
        await Task.WhenAll(producers);
        output.WriteLine($"{acked.Count} writes acknowledged; {retries} retries, {replays} answered as replays");

        Assert.Empty(unexpected);
        // Every stored msg, read once through one group: each acknowledged write is there once, at the ids it was answered.
        var stored = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        var reader = cluster.Gateways[0].Client;
        while (true)
        {
            using var body = JsonDocument.Parse(await reader.GetStringAsync("api/v1/channels/keyed/groups/audit/messages?n=5000"));
            var messages = body.RootElement.GetProperty("messages").EnumerateArray().ToList();
            if (messages.Count == 0)
            {
                break;
            }
            foreach (var message in messages)
            {
                var text = Encoding.UTF8.GetString(message.GetProperty("payload").GetBytesFromBase64());
                (stored.TryGetValue(text, out var ids) ? ids : stored[text] = []).Add(message.GetProperty("msgId").GetInt64());
            }
        }
        Assert.All(stored, s => Assert.Single(s.Value));
        Assert.Equal(acked.Count * 2, stored.Count);
        Assert.All(acked, a => Assert.Equal(a.Value, new[] { stored[$"{a.Key}-a"][0], stored[$"{a.Key}-b"][0] }));
    }

    private static string Text(string key, string part) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{key}-{part}"));
}
