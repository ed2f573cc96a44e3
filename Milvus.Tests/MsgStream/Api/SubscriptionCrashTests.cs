using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.MsgStream.Api;

/// <summary>
/// A real gateway process is killed with kill -9 while a time-ticked consume subscription has read ahead of what it
/// answered: after each restart the subscription goes on with every msg, and repeats only the answer that no consume
/// had acknowledged yet. With the consumer groups' positions alone, a round read ahead before a kill is lost.
/// </summary>
public sealed class SubscriptionCrashTests
{
    private const int PerRound = 20;

    [Fact]
    public async Task AMsgWrittenBeforeAKillNineReachesATimeTickedConsumeAfterTheRestart()
    {
        using var dir = new TempDirectory();
        string[] channels = ["tick-after-restart"];
        // No ticks at all in the first process: nothing it writes is covered by a tick before the kill.
        await using (var first = new GatewayProcess(dir.Path, new Dictionary<string, string> { ["Milvus:TimeTick:Enabled"] = "false" }))
        {
            await first.StartAsync();
            var api = new MsgStreamApiClient(first.Client);
            await api.CreateChannelsAsync(channels);
            await api.ProduceAsync(channels, [MsgStreamApiClient.Msg("before-the-kill", 0)]);
            var unticked = await api.ConsumeAsync(channels, "after-restart", timeTickAligned: true, waitMs: 200);
            Assert.Empty(unticked.Msgs);
            first.Kill();
        }
        await using var second = new GatewayProcess(dir.Path, new Dictionary<string, string> { ["Milvus:TimeTick:IntervalMs"] = "20" });
        await second.StartAsync();

        var packs = await new MsgStreamApiClient(second.Client).ConsumeUntilAsync(channels, "after-restart", msgs => msgs.Count >= 1);

        Assert.Equal(["before-the-kill"], packs.SelectMany(p => p.Msgs).Select(m => m.Text));
    }

    [Fact]
    public async Task AfterKillNineATimeTickedSubscriptionSkipsNothingAndRepeatsOnlyItsUnacknowledgedAnswer()
    {
        using var dir = new TempDirectory();
        await using var gateway = new GatewayProcess(dir.Path, new Dictionary<string, string> { ["Milvus:TimeTick:IntervalMs"] = "10" });
        await gateway.StartAsync();
        string[] channels = ["crash-sub-0", "crash-sub-1"];
        var api = new MsgStreamApiClient(gateway.Client);
        await api.CreateChannelsAsync(channels);
        var received = new List<WireMsg>();
        var allowedAgain = new HashSet<string>();
        var owed = 0;
        await ProduceRoundAsync(api, channels, 0);

        for (var round = 0; round < 3; round++)
        {
            var packs = await api.ConsumeUntilAsync(channels, "crash-sub", msgs => Has(received.Concat(msgs), round));
            received.AddRange(packs.SelectMany(p => p.Msgs));
            // The last answer is owed: no consume acknowledged it before the kill.
            allowedAgain.UnionWith(packs[^1].Msgs.Select(m => m.Text));
            owed += packs[^1].Msgs.Length;
            await ProduceRoundAsync(api, channels, round + 1);
            gateway.Kill();
            await gateway.StartAsync();
            api = new MsgStreamApiClient(gateway.Client);
        }
        received.AddRange((await api.ConsumeUntilAsync(channels, "crash-sub", msgs => Has(received.Concat(msgs), 3))).SelectMany(p => p.Msgs));

        var expected = Enumerable.Range(0, 4).SelectMany(r => Enumerable.Range(0, PerRound).Select(i => $"r{r}-{i}")).ToHashSet();
        Assert.Subset(received.Select(m => m.Text).ToHashSet(), expected);
        Assert.Superset(received.Select(m => m.Text).ToHashSet(), expected);
        // A msg comes again only inside an answer that was owed at a kill (an owed answer that came again and was owed
        // at the next kill too comes a third time), and always with the id it had.
        var again = received.GroupBy(m => m.Text).Where(g => g.Count() > 1).ToList();
        Assert.All(again, g => Assert.Contains(g.Key, allowedAgain));
        Assert.All(again, g => Assert.Single(g.Select(m => m.Id).Distinct()));
        // Each kill repeats its owed answer whole, once: the restarted stream resumes where that answer began.
        Assert.Equal(expected.Count + owed, received.Count);
    }

    private static bool Has(IEnumerable<WireMsg> msgs, int round) =>
        msgs.Count(m => m.Text.StartsWith($"r{round}-", StringComparison.Ordinal)) >= PerRound;

    private static Task ProduceRoundAsync(MsgStreamApiClient api, string[] channels, int round) =>
        api.ProduceAsync(channels, Enumerable.Range(0, PerRound).Select(i => MsgStreamApiClient.Msg($"r{round}-{i}", (uint)i)));
}
