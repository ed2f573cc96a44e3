using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Milvus.Domain.MsgStream;
using Milvus.Tests.Infrastructure;
using Milvus.Tests.MsgStream.Api;
using Xunit.Abstractions;

namespace Milvus.Tests.Cluster;

/// <summary>
/// Published gateways as child processes on one etcd and one redis-server, called round-robin as a load balancer
/// would: a standby serves every route, and the cluster's one time tick never passes a msg that any gateway has
/// yet to write, across kill -9 of the ticking gateway and of another.
/// </summary>
[Collection(GatewayProcessCollection.Name)]
public sealed partial class SeveralGatewaysTests(ITestOutputHelper output)
{
    private const int TtlSeconds = 3;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly UnmarshalDispatcher Dispatcher = new();

    [Fact]
    public async Task AStandbyCreatesChannelsProducesAndConsumesTickedPacksAndOnlyItsTsoRoleIsStandBy()
    {
        await using var cluster = await GatewayCluster.StartAsync(2);
        var active = await cluster.ActiveAsync();
        var standby = cluster.Gateways.Single(g => g != active);
        var api = new MsgStreamApiClient(standby.Client);

        var created = await standby.Client.PostAsJsonAsync("api/v1/channels",
            new { ownerDescription = new { role = "proxy", address = "127.0.0.1:1", descriptionText = "dml" }, numChannels = 2 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var names = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var channels = names.RootElement.GetProperty("channelNames").EnumerateArray().Select(n => n.GetString()!).ToArray();
        var positions = await api.ProduceAsync(channels, [MsgStreamApiClient.Msg("a", 0), MsgStreamApiClient.Msg("b", 1), MsgStreamApiClient.Msg("c", 2)]);
        var packs = await api.ConsumeUntilAsync(channels, "standby", msgs => msgs.Count >= 3);

        Assert.Equal(2, channels.Distinct().Count());
        Assert.All(positions, p => Assert.True(p.Timestamp > 0));
        Assert.Equal(["a", "b", "c"], packs.SelectMany(p => p.Msgs).Select(m => m.Text).Order());
        Assert.All(packs.SelectMany(p => p.Msgs.Select(m => (p, m))), x => Assert.InRange(x.m.EndTs, x.p.BeginTs + 1, x.p.EndTs));
        await WaitUntilAsync(async () => (await StatesAsync(standby)).All(s => s.Value == (s.Key == "tso" ? "StandBy" : "Healthy")), "every component of the standby Healthy but its tso");
        var states = await StatesAsync(standby);
        Assert.Equal("Healthy", states["root"]);
        Assert.Equal("StandBy", states["tso"]);
        Assert.All(states.Where(s => s.Key is not ("tso" or "root")), s => Assert.Equal("Healthy", s.Value));
        Assert.Equal("Healthy", (await StatesAsync(active))["timetick"]);
    }

    [Fact]
    public async Task AParameterOverrideThroughOneGatewayReachesTheOtherSurvivesItsRestartAndChangesTheTickSpacing()
    {
        await using var cluster = await GatewayCluster.StartAsync(2, new Dictionary<string, string> { ["Milvus:TimeTick:IntervalMs"] = "50" });
        var (a, b) = (cluster.Gateways[0], cluster.Gateways[1]);
        var channel = $"spacing-{Guid.NewGuid():N}";
        var api = new MsgStreamApiClient(a.Client);
        await api.CreateChannelsAsync(channel);
        await api.ProduceAsync([channel], [MsgStreamApiClient.Msg("ticked", 0)]);
        var before = await TickGapsAsync(a, channel, "before", 6);

        using var set = await b.Client.PutAsJsonAsync("api/v1/params", new { @params = new Dictionary<string, string> { ["timetick.intervalms"] = "1000" } });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        await WaitUntilAsync(async () => await IntervalAsync(a) == "1000", "the override reaches the other gateway");
        // The ticker takes the new interval after its next tick: the first gap may still be the old one.
        var after = (await TickGapsAsync(a, channel, "after", 5)).Skip(1).ToList();
        using var atStart = await a.Client.PutAsJsonAsync("api/v1/params", new { @params = new Dictionary<string, string> { ["datadir"] = "/" } });
        using var unknown = await a.Client.PutAsJsonAsync("api/v1/params", new { @params = new Dictionary<string, string> { ["no.such.key"] = "1" } });
        using var negative = await a.Client.PutAsJsonAsync("api/v1/params", new { @params = new Dictionary<string, string> { ["timetick.intervalms"] = "-5" } });
        b.Kill();
        await b.StartAsync();
        var afterRestart = await IntervalAsync(b);
        var layers = await b.Client.GetStringAsync("api/v1/params/layers?prefix=timetick.intervalms");
        using var removed = await b.Client.DeleteAsync("api/v1/params/timetick.intervalms");
        using var again = await b.Client.DeleteAsync("api/v1/params/timetick.intervalms");
        await WaitUntilAsync(async () => await IntervalAsync(a) == "50", "the removal reaches the other gateway");

        Assert.True(Median(before) < 500, $"ticks every 50 ms came {string.Join(", ", before)} ms apart");
        Assert.All(after, gap => Assert.True(gap >= 500, $"ticks every 1000 ms came {string.Join(", ", after)} ms apart"));
        await GatewayBasicsTestsProblem(atStart, HttpStatusCode.Conflict, "datadir");
        await GatewayBasicsTestsProblem(unknown, HttpStatusCode.BadRequest, "no.such.key");
        await GatewayBasicsTestsProblem(negative, HttpStatusCode.BadRequest, "timetick.intervalms");
        Assert.Equal("1000", afterRestart);
        Assert.Contains("run-time override", layers, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.NotEqual("/", (await a.Client.GetFromJsonAsync<Dictionary<string, string>>("api/v1/params?prefix=datadir"))!.GetValueOrDefault("datadir"));
    }

    /// <summary>The effective tick interval a gateway reports.</summary>
    private static async Task<string?> IntervalAsync(GatewayProcess gateway) =>
        (await gateway.Client.GetFromJsonAsync<Dictionary<string, string>>("api/v1/params?prefix=timetick.intervalms"))!.GetValueOrDefault("timetick.intervalms");

    /// <summary>The gaps in ms between <paramref name="count"/> consecutive ticks read from now on, by their physical time.</summary>
    private static async Task<List<long>> TickGapsAsync(GatewayProcess gateway, string channel, string group, int count)
    {
        using var created = await gateway.Client.PostAsJsonAsync($"api/v1/channels/{channel}/groups", new { groupName = group, position = "Latest" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var ticks = new List<long>();
        var clock = Stopwatch.StartNew();
        while (ticks.Count < count)
        {
            Assert.True(clock.Elapsed < Patience, $"Only {ticks.Count} ticks reached {channel} in time.");
            using var page = JsonDocument.Parse(await gateway.Client.GetStringAsync($"api/v1/channels/{channel}/groups/{group}/messages?n=100&waitMs=500"));
            foreach (var message in page.RootElement.GetProperty("messages").EnumerateArray())
            {
                if (Dispatcher.Unmarshal(message.GetProperty("payload").GetBytesFromBase64().AsSpan()) is TimeTickMsg tick)
                {
                    ticks.Add(new Domain.Tso.HybridTimestamp(tick.EndTs).PhysicalMs);
                }
            }
        }
        return [.. ticks.Take(count).Zip(ticks.Skip(1).Take(count - 1), (first, second) => second - first)];
    }

    private static long Median(List<long> values) => values.Order().ElementAt(values.Count / 2);

    private static async Task GatewayBasicsTestsProblem(HttpResponseMessage response, HttpStatusCode status, string named)
    {
        var problem = await Api.GatewayBasicsTests.AssertProblem(response, status);
        Assert.Contains(named, problem.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RoundRobinProducersOverThreeGatewaysNeverLandAMsgBehindATickAcrossKillsOfTheTickerAndAnother()
    {
        await using var cluster = await GatewayCluster.StartAsync(3);
        string[] channels = ["rr-0", "rr-1"];
        var first = new MsgStreamApiClient(cluster.Gateways[0].Client);
        await first.CreateChannelsAsync(channels);

        var acked = new ConcurrentDictionary<string, ulong>();
        var failed = 0;
        var turn = -1;
        using var stop = new CancellationTokenSource();
        async Task ProduceAsync(int producer)
        {
            for (var i = 0; !stop.IsCancellationRequested && i < 4000; i++)
            {
                var gateway = cluster.Gateways[(Interlocked.Increment(ref turn) & int.MaxValue) % cluster.Gateways.Count];
                string[] texts = [$"p{producer}-{i}-a", $"p{producer}-{i}-b"];
                try
                {
                    var response = await gateway.Client.PostAsJsonAsync("api/v1/msgstream/produce",
                        new { channels, msgs = new[] { MsgStreamApiClient.Msg(texts[0], 0), MsgStreamApiClient.Msg(texts[1], 1) } });
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref failed);
                        continue;
                    }
                    var positions = (await response.Content.ReadFromJsonAsync<WirePositions>())!.Positions;
                    acked[texts[0]] = positions[0].Timestamp;
                    acked[texts[1]] = positions[1].Timestamp;
                }
                catch (Exception e) when (e is HttpRequestException or ObjectDisposedException)
                {
                    // The gateway is down, or being restarted (its client is replaced).
                    Interlocked.Increment(ref failed);
                }
                catch (TaskCanceledException) when (!stop.IsCancellationRequested)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        }
        var producers = Enumerable.Range(0, 3).Select(p => Task.Run(() => ProduceAsync(p))).ToArray();

        await WaitUntilAsync(() => Task.FromResult(acked.Count >= 200), "traffic before the kills");
        var ticker = await cluster.ActiveAsync();
        ticker.Kill();
        output.WriteLine($"killed the ticker at {acked.Count} acknowledged msgs");
        var survivors = cluster.Gateways.Where(g => g != ticker).ToList();
        var next = await cluster.ActiveAsync(survivors);
        var mark = acked.Count;
        await WaitUntilAsync(() => Task.FromResult(acked.Count >= mark + 200), "traffic after the ticker's death");
        await ticker.StartAsync();
        var other = survivors.First(g => g != next);
        mark = acked.Count;
        await WaitUntilAsync(() => Task.FromResult(acked.Count >= mark + 200), "traffic with the old ticker back");
        other.Kill();
        output.WriteLine($"killed a reporting gateway at {acked.Count} acknowledged msgs");
        mark = acked.Count;
        await WaitUntilAsync(() => Task.FromResult(acked.Count >= mark + 200), "traffic after the second kill");
        await other.StartAsync();
        mark = acked.Count;
        await WaitUntilAsync(() => Task.FromResult(acked.Count >= mark + 200), "traffic with every gateway back");
        await stop.CancelAsync();
        await Task.WhenAll(producers);
        output.WriteLine($"{acked.Count} msgs acknowledged, {failed} produce calls failed");

        // Every channel, read raw in queue order: each msg lies above every tick before it, and a tick reaches past the last one.
        var highest = acked.Values.Max();
        var written = new Dictionary<string, int>(StringComparer.Ordinal);
        var reader = cluster.Gateways[0];
        foreach (var channel in channels)
        {
            var (msgs, ticks) = await ReadUntilTickAsync(reader, channel, highest);
            foreach (var msg in msgs)
            {
                written[msg.Text] = written.GetValueOrDefault(msg.Text) + 1;
            }
            output.WriteLine($"{channel}: {msgs.Count} msgs, {ticks} ticks");
        }
        Assert.All(acked.Keys, text => Assert.Equal(1, written.GetValueOrDefault(text)));
        Assert.All(written, w => Assert.Equal(1, w.Value));

        // A time-ticked subscription through one gateway: contiguous packs, each msg inside its pack's range.
        var survivor = new MsgStreamApiClient(next.Client);
        var packs = await survivor.ConsumeUntilAsync(channels, "audit", msgs => msgs.Count >= written.Count);
        for (var i = 1; i < packs.Count; i++)
        {
            Assert.True(packs[i].BeginTs >= packs[i - 1].EndTs, $"pack {i} begins at {packs[i].BeginTs}, before the end {packs[i - 1].EndTs} of the one before");
        }
        Assert.All(packs.SelectMany(p => p.Msgs.Select(m => (p, m))), x => Assert.InRange(x.m.EndTs, x.p.BeginTs + 1, x.p.EndTs));
        Assert.Equal(written.Keys.Order(), packs.SelectMany(p => p.Msgs).Select(m => m.Text).Order());
    }

    [Fact]
    public async Task OneSubscriptionConsumedRoundRobinDeliversEachMsgOnceAndAfterItsHolderIsKilledOnlyItsLastAnswerComesAgain()
    {
        // Retention removes what is read at once: only the checkpoint keeps what the holder's stream read ahead.
        await using var cluster = await GatewayCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["Milvus:RedisMq:RetentionTimeInMinutes"] = "0",
            ["Milvus:RedisMq:RetentionIntervalSeconds"] = "1",
        });
        string[] channels = ["held-0", "held-1"];
        await new MsgStreamApiClient(cluster.Gateways[0].Client).CreateChannelsAsync(channels);
        const int Total = 2000;
        for (var batch = 0; batch < Total / 100; batch++)
        {
            var api = new MsgStreamApiClient(cluster.Gateways[batch % 3].Client);
            await api.ProduceAsync(channels, Enumerable.Range(batch * 100, 100).Select(i => MsgStreamApiClient.Msg($"m{i}", (uint)i)));
        }

        var seen = new List<string>();
        var answers = new List<string[]>();
        var turn = 0;
        async Task ConsumeRoundRobinAsync(IReadOnlyList<GatewayProcess> gateways, Func<bool> done)
        {
            var clock = Stopwatch.StartNew();
            while (!done())
            {
                Assert.True(clock.Elapsed < Patience, $"Only {seen.Distinct().Count()} of {Total} msgs arrived in time.");
                var gateway = gateways[turn++ % gateways.Count];
                try
                {
                    var response = await gateway.Client.PostAsJsonAsync("api/v1/msgstream/consume", new { channels, subName = "held", timeTickAligned = true, waitMs = 300 });
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                        continue;
                    }
                    var pack = (await response.Content.ReadFromJsonAsync<WirePack>())!;
                    if (pack.Msgs.Length > 0)
                    {
                        answers.Add([.. pack.Msgs.Select(m => m.Text)]);
                        seen.AddRange(pack.Msgs.Select(m => m.Text));
                    }
                }
                catch (Exception e) when (e is HttpRequestException or JsonException)
                {
                    // The holder died under this call: its answer was never acknowledged, so it comes again.
                }
            }
        }

        await ConsumeRoundRobinAsync(cluster.Gateways, () => seen.Count >= Total / 2);
        Assert.Equal(seen.Count, seen.Distinct().Count());
        var tso = await cluster.ActiveAsync();
        await WaitUntilAsync(async () => await StreamLengthAsync(tso, channels[0]) + await StreamLengthAsync(tso, channels[1]) < Total, "retention to remove what was answered");
        await using (var meta = new Domain.Kv.Etcd.EtcdKv(TestServers.EtcdEndpoints, cluster.RootPath))
        {
            using var record = JsonDocument.Parse(await meta.LoadAsync("msgstream/owners/held"));
            var address = record.RootElement.GetProperty("Address").GetString()!;
            var holder = cluster.Gateways.Single(g => g.BaseAddress.ToString().TrimEnd('/') == address);
            holder.Kill();
            output.WriteLine($"killed the holder {address} after {answers.Count} answers");
            var lastBeforeKill = answers[^1];
            var before = seen.Count;
            await ConsumeRoundRobinAsync(cluster.Gateways.Where(g => g != holder).ToList(), () => seen.Distinct().Count() >= Total);

            var again = seen.GroupBy(t => t).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            Assert.All(seen.GroupBy(t => t), g => Assert.InRange(g.Count(), 1, 2));
            Assert.All(again, t => Assert.Contains(t, lastBeforeKill));
            Assert.Equal(Enumerable.Range(0, Total).Select(i => $"m{i}").Order(), seen.Distinct().Order());
            output.WriteLine($"{seen.Count - before} msgs after the kill, {again.Count} of them again");
        }
    }

    [Fact]
    public async Task ThreeArchivingGatewaysSpreadTheChannelsAndArchiveEveryMsgExactlyOnceAcrossAKillOfAnArchiver()
    {
        await using var cluster = await GatewayCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["Milvus:Archive:Enabled"] = "true",
            ["Milvus:Archive:DiscoveryIntervalMs"] = "100",
            ["Milvus:Archive:MaxSegmentBytes"] = "4096",
            ["Milvus:Archive:MaxSegmentMs"] = "600000",
            ["Milvus:ObjectStorage:Backend"] = "minio",
            ["Milvus:Minio:Endpoint"] = TestServers.S3Endpoint,
            ["Milvus:Minio:AccessKey"] = TestServers.S3AccessKey,
            ["Milvus:Minio:SecretKey"] = TestServers.S3SecretKey,
            ["Milvus:Minio:Bucket"] = $"archive-{Guid.NewGuid():N}"[..30],
        }, probeReadiness: false); // Nothing asks /health/ready: the object store makes its bucket when it starts.
        string[] channels = ["arch-0", "arch-1", "arch-2", "arch-3"];
        foreach (var channel in channels)
        {
            await Archive.ArchiveClient.CreateChannelAsync(cluster.Gateways[0].Client, channel);
        }
        var producer = new Archive.ArchiveClient();
        async Task ProduceRoundRobinAsync(IReadOnlyList<GatewayProcess> gateways, int batches)
        {
            for (var batch = 0; batch < batches; batch++)
            {
                foreach (var channel in channels)
                {
                    await producer.ProduceInsertsAsync(gateways[batch % gateways.Count].Client, channel, 10, rowBytes: 96);
                }
            }
        }

        await ProduceRoundRobinAsync(cluster.Gateways, 10);
        await using var meta = new Domain.Kv.Etcd.EtcdKv(TestServers.EtcdEndpoints, cluster.RootPath);
        Dictionary<string, string> holders = [];
        await WaitUntilAsync(async () =>
        {
            var claims = await meta.LoadWithPrefixAsync("archive-claims/");
            holders = claims.Keys.Select((k, i) => (k["archive-claims/".Length..], claims.Values[i])).ToDictionary(c => c.Item1, c => c.Item2);
            return holders.Count == channels.Length && holders.Values.Distinct().Count() == 3;
        }, "the four channels claimed by all three gateways");
        await Archive.ArchiveClient.WaitForArchivedAsync(cluster.Gateways[1].Client, channels[0], 50);

        // kill -9 the gateway that archives arch-0, mid-stream.
        var sessions = JsonDocument.Parse(await cluster.Gateways[0].Client.GetStringAsync("api/v1/sessions?prefix=gateway-"));
        var address = sessions.RootElement.GetProperty("sessions").EnumerateArray()
            .Single(x => x.GetProperty("serverId").GetInt64().ToString(CultureInfo.InvariantCulture) == holders[channels[0]]).GetProperty("address").GetString()!;
        var victim = cluster.Gateways.Single(g => g.BaseAddress.ToString().TrimEnd('/') == address);
        await ProduceRoundRobinAsync(cluster.Gateways, 5);
        victim.Kill();
        var survivors = cluster.Gateways.Where(g => g != victim).ToList();
        await ProduceRoundRobinAsync(survivors, 10);
        foreach (var channel in channels)
        {
            await producer.FlushAsync(survivors[0].Client, channel);
        }

        foreach (var channel in channels)
        {
            var produced = producer.Produced(channel);
            var segments = await Archive.ArchiveClient.WaitForArchivedAsync(survivors[1].Client, channel, produced.Count);
            var archived = await Archive.ArchiveClient.ArchivedMsgsAsync(survivors[0].Client, channel, segments);
            Assert.Equal(25 * 10 + 1, produced.Count);
            Assert.Equal(produced.Select(p => p.Id), archived.Select(a => a.Id));
            Archive.ArchiveClient.AssertContiguous(segments);
        }
        var after = await meta.LoadWithPrefixAsync("archive-claims/");
        Assert.Equal(channels.Length, after.Count);
        Assert.DoesNotContain(holders[channels[0]], after.Values);
    }

    [Fact]
    public async Task ARedisStreamShrinksOnceItsGroupsHaveReadItAndOnlyTheTsoGatewayRunsRetention()
    {
        await using var cluster = await GatewayCluster.StartAsync(2, new Dictionary<string, string>
        {
            ["Milvus:RedisMq:RetentionTimeInMinutes"] = "0",
            ["Milvus:RedisMq:RetentionIntervalSeconds"] = "1",
        });
        var active = await cluster.ActiveAsync();
        var standby = cluster.Gateways.Single(g => g != active);
        Assert.Equal(HttpStatusCode.Created, (await standby.Client.PutAsJsonAsync("api/v1/channels/shrink", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await active.Client.PostAsJsonAsync("api/v1/channels/shrink/groups", new { groupName = "g" })).StatusCode);
        var payloads = Enumerable.Range(0, 50).Select(i => new { payload = Convert.ToBase64String(Encoding.UTF8.GetBytes($"m{i}")) }).ToArray();
        Assert.Equal(HttpStatusCode.Created, (await standby.Client.PostAsJsonAsync("api/v1/channels/shrink/messages", new { messages = payloads })).StatusCode);

        await WaitUntilAsync(async () => await StreamLengthAsync(active, "shrink") == 50, "the retention pass to see 50 unread entries");
        using var read = JsonDocument.Parse(await standby.Client.GetStringAsync("api/v1/channels/shrink/groups/g/messages?n=30"));
        await WaitUntilAsync(async () => await StreamLengthAsync(active, "shrink") == 20, "the 30 read entries to go");
        var rest = JsonDocument.Parse(await active.Client.GetStringAsync("api/v1/channels/shrink/groups/g/messages?n=100"));

        Assert.Equal(30, read.RootElement.GetProperty("messages").GetArrayLength());
        Assert.Equal(
            Enumerable.Range(30, 20).Select(i => $"m{i}"),
            rest.RootElement.GetProperty("messages").EnumerateArray().Select(m => Encoding.UTF8.GetString(m.GetProperty("payload").GetBytesFromBase64())));
        Assert.Null(await StreamLengthAsync(standby, "shrink"));
        await WaitUntilAsync(async () => await StreamLengthAsync(active, "shrink") == 0, "the rest to go once read");
    }

    /// <summary>The channel's <c>milvus_redismq_stream_length</c> on a gateway's /metrics, or null when it exports none.</summary>
    private static async Task<long?> StreamLengthAsync(GatewayProcess gateway, string channel)
    {
        var line = (await gateway.Client.GetStringAsync("metrics")).Split('\n').FirstOrDefault(l =>
            l.StartsWith("milvus_redismq_stream_length{", StringComparison.Ordinal) && l.Contains($"channel=\"{channel}\"", StringComparison.Ordinal));
        return line is null ? null : (long)double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Reads <paramref name="channel"/> from its start with a consumer group of its own until a tick at or above
    /// <paramref name="tick"/> has arrived; asserts on the way that no msg lies at or below a tick before it.
    /// </summary>
    private static async Task<(List<(string Text, ulong EndTs)> Msgs, int Ticks)> ReadUntilTickAsync(GatewayProcess gateway, string channel, ulong tick)
    {
        var group = $"audit-{Guid.NewGuid():N}";
        Assert.Equal(HttpStatusCode.Created, (await gateway.Client.PostAsJsonAsync($"api/v1/channels/{channel}/groups", new { groupName = group })).StatusCode);
        var msgs = new List<(string, ulong)>();
        ulong covered = 0;
        var ticks = 0;
        var clock = Stopwatch.StartNew();
        while (covered < tick)
        {
            Assert.True(clock.Elapsed < Patience, $"No tick reached {tick} on {channel} in time (the last was {covered}).");
            using var page = JsonDocument.Parse(await gateway.Client.GetStringAsync($"api/v1/channels/{channel}/groups/{group}/messages?n=10000&waitMs=500"));
            foreach (var message in page.RootElement.GetProperty("messages").EnumerateArray())
            {
                var msg = Dispatcher.Unmarshal(message.GetProperty("payload").GetBytesFromBase64().AsSpan());
                if (msg is TimeTickMsg timeTick)
                {
                    covered = Math.Max(covered, timeTick.EndTs);
                    ticks++;
                    continue;
                }
                Assert.True(msg.EndTs > covered, $"A msg at {msg.EndTs} landed on {channel} after a tick at {covered} that covers it.");
                msgs.Add((Encoding.UTF8.GetString(((PayloadMsg)msg).Payload.Span), msg.EndTs));
            }
        }
        return (msgs, ticks);
    }

    private static async Task<Dictionary<string, string>> StatesAsync(GatewayProcess gateway)
    {
        using var states = JsonDocument.Parse(await gateway.Client.GetStringAsync("api/v1/components/states"));
        var all = new Dictionary<string, string> { ["root"] = states.RootElement.GetProperty("state").GetProperty("stateCode").GetString()! };
        foreach (var component in states.RootElement.GetProperty("subcomponentStates").EnumerateArray())
        {
            all[component.GetProperty("role").GetString()!] = component.GetProperty("stateCode").GetString()!;
        }
        return all;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < Patience, $"Timed out waiting for {what}.");
            await Task.Delay(50);
        }
    }

    /// <summary>Gateway processes on the shared etcd and redis-server, under a root path of their own.</summary>
    private sealed class GatewayCluster : IAsyncDisposable
    {
        private readonly List<TempDirectory> _dirs = [];

        private GatewayCluster(int count, IReadOnlyDictionary<string, string>? extra)
        {
            var settings = new Dictionary<string, string>
            {
                ["Milvus:Kv:Backend"] = "etcd",
                ["Milvus:Etcd:Endpoints"] = TestServers.EtcdEndpoints,
                ["Milvus:Etcd:RootPath"] = RootPath,
                ["Milvus:Session:TtlSeconds"] = TtlSeconds.ToString(CultureInfo.InvariantCulture),
                ["Milvus:Mq:Backend"] = "redis",
                ["Milvus:Redis:Configuration"] = TestServers.Redis,
            };
            foreach (var (key, value) in extra ?? new Dictionary<string, string>())
            {
                settings[key] = value;
            }
            for (var i = 0; i < count; i++)
            {
                var dir = new TempDirectory();
                _dirs.Add(dir);
                Gateways.Add(new GatewayProcess(dir.Path, settings));
            }
        }

        public List<GatewayProcess> Gateways { get; } = [];

        /// <summary>The cluster's <c>Milvus:Etcd:RootPath</c>.</summary>
        public string RootPath { get; } = $"several-{Guid.NewGuid():N}";

        /// <param name="count">How many gateways.</param>
        /// <param name="extra">Settings beyond the shared etcd and Redis.</param>
        /// <param name="probeReadiness">Whether each start waits for <c>/health/ready</c> to answer 200 (else only for the host to start).</param>
        public static async Task<GatewayCluster> StartAsync(int count, IReadOnlyDictionary<string, string>? extra = null, bool probeReadiness = true)
        {
            var cluster = new GatewayCluster(count, extra);
            try
            {
                foreach (var gateway in cluster.Gateways)
                {
                    await gateway.StartAsync(requireReady: probeReadiness);
                }
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
            return cluster;
        }

        /// <summary>Waits until exactly one of <paramref name="among"/> (by default all) serves the TSO role and ticks, and returns it.</summary>
        public async Task<GatewayProcess> ActiveAsync(IReadOnlyList<GatewayProcess>? among = null)
        {
            among ??= Gateways;
            GatewayProcess? active = null;
            await WaitUntilAsync(async () =>
            {
                var holders = new List<GatewayProcess>();
                foreach (var gateway in among)
                {
                    if ((await StatesAsync(gateway))["tso"] == "Healthy")
                    {
                        holders.Add(gateway);
                    }
                }
                active = holders.Count == 1 ? holders[0] : null;
                return active is not null;
            }, "one active TSO");
            return active!;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var gateway in Gateways)
            {
                await gateway.DisposeAsync();
            }
            _dirs.ForEach(d => d.Dispose());
        }
    }
}
