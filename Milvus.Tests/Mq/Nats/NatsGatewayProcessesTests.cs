using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Milvus.Tests.Infrastructure;
using NATS.Client.JetStream;
using Xunit.Abstractions;

namespace Milvus.Tests.Mq.Nats;

/// <summary>
/// Two published gateways as child processes on one three-node JetStream cluster (<c>Milvus:Nats:Replicas=3</c>),
/// produced to and consumed from over HTTP while the data stream's leader is killed with -9 and later restarted.
/// </summary>
[Collection(GatewayProcessCollection.Name)]
public sealed class NatsGatewayProcessesTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private static readonly string[] Channels = ["c0", "c1"];
    private static readonly string[] Groups = ["g0", "g1"];

    [Fact]
    public async Task EveryMsgThatAGatewayAcknowledgedIsConsumedExactlyOncePerGroupInOrderAcrossAKilledAndRestartedLeader()
    {
        await using var cluster = await PrivateNatsCluster.StartAsync();
        // The streams are made (with their three replicas) before the gateways start, so that both start ready.
        await using var host = await NatsMqHost.StartAsync(url: cluster.Url, replicas: 3);
        await WaitUntilAsync(async () => await Answers(host), "the cluster to elect its leaders and create the streams");
        var settings = new Dictionary<string, string>
        {
            ["Milvus:Mq:Backend"] = "nats",
            ["Milvus:Nats:Url"] = cluster.Url,
            ["Milvus:Nats:Replicas"] = "3",
            ["Milvus:Nats:StreamPrefix"] = host.Options.StreamPrefix,
        };
        using var dir0 = new TempDirectory();
        using var dir1 = new TempDirectory();
        await using var gateway0 = new GatewayProcess(dir0.Path, settings);
        await using var gateway1 = new GatewayProcess(dir1.Path, settings);
        await gateway0.StartAsync();
        await gateway1.StartAsync();
        GatewayProcess[] gateways = [gateway0, gateway1];
        foreach (var channel in Channels)
        {
            Assert.Equal(HttpStatusCode.Created, (await gateway0.Client.PutAsync($"api/v1/channels/{channel}", null)).StatusCode);
            foreach (var group in Groups)
            {
                Assert.Equal(HttpStatusCode.Created, (await gateway1.Client.PostAsJsonAsync($"api/v1/channels/{channel}/groups", new { groupName = group })).StatusCode);
            }
        }

        using var stopProducing = new CancellationTokenSource();
        using var stopConsuming = new CancellationTokenSource();
        var acked = new ConcurrentDictionary<string, (string Channel, long Id)>();
        var failed = 0;
        var producers = gateways.SelectMany((gateway, g) => Channels.Select(channel => Task.Run(async () =>
        {
            for (var k = 0; !stopProducing.IsCancellationRequested; k++)
            {
                // A new label per call: a batch whose call failed may still be stored, and is then consumed once.
                var labels = Enumerable.Range(0, 1 + (k % 3)).Select(j => $"{g}/{channel}/{k}/{j}").ToArray();
                using var response = await gateway.Client.PostAsJsonAsync($"api/v1/channels/{channel}/messages",
                    new { messages = labels.Select(l => new { payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(l)) }).ToArray() });
                if (response.StatusCode != HttpStatusCode.Created)
                {
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                    Interlocked.Increment(ref failed);
                    await Task.Delay(20); // Back off while the cluster elects a leader; not a synchronisation.
                    continue;
                }
                using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                var ids = body.RootElement.GetProperty("msgIds").EnumerateArray().Select(i => i.GetInt64()).ToArray();
                for (var j = 0; j < labels.Length; j++)
                {
                    acked[labels[j]] = (channel, ids[j]);
                }
            }
        }))).ToList();
        var consumed = Channels.SelectMany(c => Groups.Select(g => (c, g))).ToDictionary(k => k, _ => new List<(long Id, string Label)>());
        var consumers = consumed.Keys.Select((key, i) => Task.Run(async () =>
        {
            var read = consumed[key];
            while (!stopConsuming.IsCancellationRequested)
            {
                var batch = await ConsumeAsync(gateways[i % 2], key.c, key.g, 50, 200);
                if (batch is null)
                {
                    await Task.Delay(20); // As above.
                    continue;
                }
                lock (read)
                {
                    read.AddRange(batch);
                }
            }
        })).ToList();

        await WaitUntilAsync(() => Task.FromResult(acked.Count >= 60), "60 acknowledged msgs before the kill");
        await using var raw = NatsMqHost.Raw(cluster.Url);
        var leader = (await new NatsJSContext(raw).GetStreamAsync(host.Client.DataStream)).Info.Cluster!.Leader!;
        var killed = cluster.Node(PrivateNatsCluster.IndexOf(leader));
        await killed.StopAsync();
        var atKill = acked.Count;
        await WaitUntilAsync(() => Task.FromResult(acked.Count >= atKill + 60), "60 acknowledged msgs with the leader killed");
        await killed.StartAgainAsync();
        var atRestart = acked.Count;
        await WaitUntilAsync(() => Task.FromResult(acked.Count >= atRestart + 60), "60 acknowledged msgs after the restart");
        await stopProducing.CancelAsync();
        await Task.WhenAll(producers).WaitAsync(Patience);
        await WaitUntilAsync(() => Task.FromResult(consumed.All(c => ReadsAll(c.Value, acked, c.Key.c))), "the groups to read every acknowledged msg");
        await stopConsuming.CancelAsync();
        await Task.WhenAll(consumers).WaitAsync(Patience);

        foreach (var ((channel, group), read) in consumed)
        {
            // What the groups have not read yet (stored by a call that failed) is drained now.
            for (var more = await ConsumeAsync(gateway0, channel, group, 1000, 0); more is { Count: > 0 }; more = await ConsumeAsync(gateway0, channel, group, 1000, 0))
            {
                read.AddRange(more);
            }
            Assert.Equal(read.Count, read.Select(r => r.Label).Distinct().Count());
            for (var i = 1; i < read.Count; i++)
            {
                Assert.True(read[i - 1].Id < read[i].Id, $"{channel}/{group}: ids out of order at {i}");
            }
            var byLabel = read.ToDictionary(r => r.Label, r => r.Id);
            Assert.All(acked.Where(a => a.Value.Channel == channel), a => Assert.Equal(a.Value.Id, byLabel.GetValueOrDefault(a.Key)));
            Assert.All(read, r => Assert.Contains($"/{channel}/", r.Label, StringComparison.Ordinal));
        }
        // Both gateways recovered by themselves: their queue component is Healthy and they are ready again.
        foreach (var gateway in gateways)
        {
            await WaitUntilAsync(async () => await QueueStateAsync(gateway) == "Healthy", "the gateway's natsmq component to be Healthy again");
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("health/ready")).StatusCode);
        }
        output.WriteLine($"killed leader {leader}; acknowledged {acked.Count} msgs ({atKill} before the kill, {atRestart - atKill} while it was down); {failed} produce calls answered 503");
    }

    /// <summary>The state code of the gateway's <c>natsmq</c> component.</summary>
    private static async Task<string?> QueueStateAsync(GatewayProcess gateway)
    {
        using var states = JsonDocument.Parse(await gateway.Client.GetStringAsync("api/v1/components/states"));
        return states.RootElement.GetProperty("subcomponentStates").EnumerateArray()
            .Where(c => c.GetProperty("role").GetString() == "natsmq")
            .Select(c => c.GetProperty("stateCode").GetString())
            .SingleOrDefault();
    }

    /// <summary>One consume over HTTP; null when the gateway answered 503 (the cluster is electing).</summary>
    private static async Task<List<(long Id, string Label)>?> ConsumeAsync(GatewayProcess gateway, string channel, string group, int n, int waitMs)
    {
        using var response = await gateway.Client.GetAsync(string.Create(CultureInfo.InvariantCulture, $"api/v1/channels/{channel}/groups/{group}/messages?n={n}&waitMs={waitMs}"));
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            return null;
        }
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. body.RootElement.GetProperty("messages").EnumerateArray().Select(m =>
            (m.GetProperty("msgId").GetInt64(), Encoding.UTF8.GetString(m.GetProperty("payload").GetBytesFromBase64())))];
    }

    private static bool ReadsAll(List<(long Id, string Label)> read, ConcurrentDictionary<string, (string Channel, long Id)> acked, string channel)
    {
        HashSet<string> labels;
        lock (read)
        {
            labels = [.. read.Select(r => r.Label)];
        }
        return acked.All(a => a.Value.Channel != channel || labels.Contains(a.Key));
    }

    private static Task<bool> Answers(NatsMqHost host) => NatsMqReplicationTests.Answers(host.Client);

    private static Task WaitUntilAsync(Func<Task<bool>> condition, string what) => NatsMqReplicationTests.WaitUntilAsync(condition, what, Patience);
}
