using System.Collections.Concurrent;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Nats;
using Milvus.Tests.Infrastructure;
using NATS.Client.JetStream;
using Xunit.Abstractions;

namespace Milvus.Tests.Mq.Nats;

/// <summary>
/// The NATS queue on a three-node JetStream cluster with three replicas: two clients produce and consume while the
/// data stream's leader is killed with -9 and later restarted.
/// </summary>
public sealed class NatsMqReplicationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly string[] Channels = ["c0", "c1"];
    private static readonly string[] Groups = ["g1", "g2"];

    [Fact]
    public async Task EveryAcknowledgedMessageIsConsumedExactlyOncePerGroupInOrderAcrossAKilledAndRestartedLeader()
    {
        await using var cluster = await PrivateNatsCluster.StartAsync();
        await using var host = await NatsMqHost.StartAsync(url: cluster.Url, replicas: 3);
        await WaitUntilAsync(async () => await Answers(host.Client), "the cluster to elect its leaders and create the streams");
        await using var other = await host.ConnectAnotherAsync();
        NatsMqClient[] clients = [host.Client, other];
        foreach (var channel in Channels)
        {
            await host.Client.CreateChannelAsync(channel);
            foreach (var group in Groups)
            {
                await host.Client.CreateConsumerGroupAsync(channel, group, MqStartPosition.Earliest);
            }
        }

        using var stop = new CancellationTokenSource();
        using var stopConsuming = new CancellationTokenSource();
        var acked = new ConcurrentDictionary<string, (string Channel, long Id)>();
        var unknown = 0;
        var producers = clients.SelectMany((client, c) => Channels.Select(channel => Task.Run(async () =>
        {
            for (var k = 0; !stop.IsCancellationRequested; k++)
            {
                // A new label per attempt: a batch whose produce failed may still be stored, and is then consumed once.
                var labels = Enumerable.Range(0, 1 + (k % 3)).Select(j => $"{c}/{channel}/{k}/{j}").ToArray();
                try
                {
                    var ids = await client.ProduceAsync(channel, MqClientContractTests.Payloads(labels));
                    for (var j = 0; j < labels.Length; j++)
                    {
                        acked[labels[j]] = (channel, ids[j]);
                    }
                }
                catch (MqUnavailableException)
                {
                    Interlocked.Increment(ref unknown);
                    await Task.Delay(20); // Back off while the cluster elects a leader; not a synchronisation.
                }
            }
        }))).ToList();
        var consumed = new ConcurrentDictionary<(string Channel, string Group), List<MqMessage>>();
        var consumers = Channels.SelectMany(channel => Groups.Select((group, g) => Task.Run(async () =>
        {
            var read = consumed[(channel, group)] = [];
            while (!stopConsuming.IsCancellationRequested)
            {
                try
                {
                    var batch = await clients[g].ConsumeAsync(channel, group, 20, TimeSpan.FromMilliseconds(200));
                    lock (read)
                    {
                        read.AddRange(batch);
                    }
                }
                catch (MqUnavailableException)
                {
                    await Task.Delay(20); // As above.
                }
            }
        }))).ToList();

        await WaitUntilAsync(() => Task.FromResult(acked.Count >= 100), "100 acknowledged messages before the kill");
        await using var raw = NatsMqHost.Raw(cluster.Url);
        var leader = (await new NatsJSContext(raw).GetStreamAsync(host.Client.DataStream)).Info.Cluster!.Leader!;
        var killed = cluster.Node(PrivateNatsCluster.IndexOf(leader));
        await killed.StopAsync();
        var atKill = acked.Count;
        await WaitUntilAsync(() => Task.FromResult(acked.Count >= atKill + 100), "100 acknowledged messages with the leader killed");
        await killed.StartAgainAsync();
        var atRestart = acked.Count;
        await WaitUntilAsync(() => Task.FromResult(acked.Count >= atRestart + 100), "100 acknowledged messages after the restart");
        await WaitUntilAsync(async () => (await new NatsJSContext(raw).GetStreamAsync(host.Client.DataStream)).Info.Cluster!.Replicas?.Count(r => r.Current) == 2, "the restarted node to catch up");
        var producing = Task.WhenAll(producers);
        await stop.CancelAsync();
        await producing.WaitAsync(Patience);
        await WaitUntilAsync(() => Task.FromResult(Channels.All(c => Groups.All(g => ReadsAll(consumed[(c, g)], acked, c)))), "the groups to read every acknowledged message");
        await stopConsuming.CancelAsync();
        await Task.WhenAll(consumers).WaitAsync(Patience);

        foreach (var channel in Channels)
        {
            var expected = acked.Where(a => a.Value.Channel == channel).ToDictionary(a => a.Key, a => a.Value.Id);
            foreach (var (group, g) in Groups.Select((group, g) => (group, g)))
            {
                var read = consumed[(channel, group)];
                // Also what nobody read yet (stored by a produce that failed): drained now, nothing more may come.
                for (var more = await clients[g].ConsumeAsync(channel, group, 1000); more.Count > 0; more = await clients[g].ConsumeAsync(channel, group, 1000))
                {
                    read.AddRange(more);
                }
                var labels = MqClientContractTests.Texts(read);
                Assert.Equal(labels.Count, labels.Distinct().Count());
                for (var i = 1; i < read.Count; i++)
                {
                    Assert.True(read[i - 1].MsgId < read[i].MsgId, $"{channel}/{group}: ids out of order at {i}");
                }
                var byLabel = read.Zip(labels).ToDictionary(p => p.Second, p => p.First.MsgId);
                Assert.All(expected, e => Assert.Equal(e.Value, byLabel.GetValueOrDefault(e.Key)));
                Assert.All(labels, l => Assert.Contains($"/{channel}/", l, StringComparison.Ordinal));
            }
        }
        Assert.True(acked.Count >= atRestart + 100);
        output.WriteLine($"killed leader {leader}; acknowledged {acked.Count} msgs ({atKill} before the kill, {atRestart - atKill} while it was down); {unknown} produce calls failed with 503");
    }

    private static bool ReadsAll(List<MqMessage> read, ConcurrentDictionary<string, (string Channel, long Id)> acked, string channel)
    {
        HashSet<string> labels;
        lock (read)
        {
            labels = [.. MqClientContractTests.Texts(read)];
        }
        return acked.All(a => a.Value.Channel != channel || labels.Contains(a.Key));
    }

    internal static async Task<bool> Answers(NatsMqClient client)
    {
        try
        {
            await client.PingAsync();
            return true;
        }
        catch (MqUnavailableException)
        {
            return false;
        }
    }

    private static Task WaitUntilAsync(Func<Task<bool>> condition, string what) => WaitUntilAsync(condition, what, Patience);

    /// <summary>Polls <paramref name="condition"/> every 100 ms until it holds, failing after <paramref name="patienceFor"/>.</summary>
    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan patienceFor)
    {
        using var patience = new CancellationTokenSource(patienceFor);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (!await condition())
        {
            Assert.False(patience.IsCancellationRequested, $"Gave up waiting for {what}.");
            await poll.WaitForNextTickAsync();
        }
    }
}
