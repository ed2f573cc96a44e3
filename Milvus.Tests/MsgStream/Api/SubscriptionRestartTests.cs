using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream.Streams;
using Milvus.Domain.MsgStream.Gateway;
using Milvus.Tests.Api;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.MsgStream.Api;

/// <summary>
/// A consume subscription outlives its gateway: after a restart on the same data it resumes past the last answer
/// that a later consume acknowledged, though its stream had read further ahead; an answer not yet acknowledged comes
/// again. The same scenarios on every message-queue backend, with the gateway's own ticks off and the time ticks
/// sent by the test, so that each round makes exactly one time-ticked pack.
/// </summary>
public abstract class SubscriptionRestartScenarios : IDisposable
{
    private readonly TempDirectory _dataDir = new();
    private GatewayFactory? _gateway;

    /// <summary>The settings that select the backend; one value per test class, so a restart finds its data.</summary>
    protected abstract IReadOnlyDictionary<string, string?> BackendSettings { get; }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ARestartResumesPastTheAcknowledgedAnswerAndRepeatsTheUnacknowledgedOne(bool timeTickAligned)
    {
        var tag = timeTickAligned ? "tt" : "plain";
        string[] channels = [$"restart-{tag}-0", $"restart-{tag}-1"];
        var sub = $"restart-{tag}";
        var api = Start();
        await api.CreateChannelsAsync(channels);
        if (timeTickAligned)
        {
            // Read before tick 50 but due at 120: the first pack's end position on channel 0 points at it, unsolved.
            await api.ProduceAsync(channels, [Msg("r1-early", 0, 120)]);
        }
        await ProduceRoundAsync(api, channels, 0, timeTickAligned);
        var first = await api.ConsumeUntilAsync(channels, sub, msgs => msgs.Count >= 2, timeTickAligned);
        // Nothing is ready, so this answers nothing and acknowledges round 0.
        var acknowledging = await api.ConsumeAsync(channels, sub, timeTickAligned, waitMs: 0);
        await ProduceRoundAsync(api, channels, 1, timeTickAligned);
        var subscriptions = _gateway!.Services.GetRequiredService<StreamSubscriptions>();
        // Round 1 is read ahead, so its consumer groups have moved past it, but not answered: one time-ticked pack, or
        // one plain pack per channel.
        await MsgStreamApiClient.WaitUntilAsync(() => subscriptions.ReadyPacks(sub) >= (timeTickAligned ? 1 : 2), "the stream reads round 1 ahead");

        api = Restart();
        var unacknowledged = await api.ConsumeUntilAsync(channels, sub, msgs => msgs.Count >= 2, timeTickAligned);
        // Each consume acknowledged the answer before it, so only the last answer is owed.
        var owed = unacknowledged[^1];
        api = Restart();
        await ProduceRoundAsync(api, channels, 2, timeTickAligned);
        var repeated = await api.ConsumeUntilAsync(channels, sub, msgs => msgs.Count >= owed.Msgs.Length + 2, timeTickAligned);

        Assert.Empty(acknowledging.Msgs);
        Assert.Equal(["r0-a", "r0-b"], Texts(first));
        Assert.Equal(timeTickAligned ? ["r1-a", "r1-b", "r1-early"] : ["r1-a", "r1-b"], Texts(unacknowledged));
        Assert.Equal([.. owed.Msgs.Select(m => m.Text).Append("r2-a").Append("r2-b").Order()], Texts(repeated));
        Assert.Equal(Ids([owed], "r1"), Ids(repeated, "r1"));
        if (timeTickAligned)
        {
            // One pack a round, contiguous across the restarts: the next begins where the last acknowledged one ended.
            Assert.Equal([(0UL, 50UL)], first.Select(p => (p.BeginTs, p.EndTs)));
            Assert.Equal([(50UL, 150UL)], unacknowledged.Select(p => (p.BeginTs, p.EndTs)));
            Assert.Equal(50UL, repeated[0].BeginTs);
            Assert.Equal(250UL, repeated[^1].EndTs);
            Assert.All(repeated.Skip(1).Zip(repeated), p => Assert.Equal(p.Second.EndTs, p.First.BeginTs));
        }
    }

    [Fact]
    public async Task AKeptSubscriptionAnswers409ForOtherSettingsAndADeleteAfterARestartEndsIt()
    {
        string[] channels = ["kept-0"];
        var api = Start();
        await api.CreateChannelsAsync(channels);
        await ProduceRoundAsync(api, channels, 0, timeTickAligned: true, keys: 1);
        Assert.Equal(["r0-a"], Texts(await api.ConsumeUntilAsync(channels, "kept", msgs => msgs.Count >= 1)));

        api = Restart();
        var otherKind = await api.Http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels, subName = "kept", timeTickAligned = false });
        var streaming = await api.Http.GetAsync("/api/v1/msgstream/subscribe?channels=kept-0&subName=kept", HttpCompletionOption.ResponseHeadersRead);
        var deleted = await api.Http.DeleteAsync("/api/v1/msgstream/subscriptions/kept");
        var again = await api.Http.DeleteAsync("/api/v1/msgstream/subscriptions/kept");
        var fresh = await api.ConsumeUntilAsync(channels, "kept", msgs => msgs.Count >= 1);

        await GatewayBasicsTests.AssertProblem(otherKind, HttpStatusCode.Conflict);
        await GatewayBasicsTests.AssertProblem(streaming, HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await GatewayBasicsTests.AssertProblem(again, HttpStatusCode.NotFound);
        // Deleted, so the name starts afresh at the earliest msg.
        Assert.Equal(["r0-a"], Texts(fresh));
    }

    [Fact]
    public async Task AKeptCheckpointWhoseMessagesWereTrimmedResumesAtTheEarliestStoredAndStillDropsWhatWasAnswered()
    {
        string[] channels = ["trim-0", "trim-1"];
        var api = Start();
        await api.CreateChannelsAsync(channels);
        await ProduceRoundAsync(api, channels, 0, timeTickAligned: true);
        var first = await api.ConsumeUntilAsync(channels, "trim", msgs => msgs.Count >= 2);
        await api.ConsumeAsync(channels, "trim", waitMs: 0);
        await ProduceRoundAsync(api, channels, 1, timeTickAligned: true);

        api = Restart();
        // As if retention had trimmed the messages the end positions of the answered pack point at.
        var meta = _gateway!.Services.GetRequiredService<ITxnKv>();
        var kept = (await SubscriptionCheckpoint.LoadAsync(meta, "trim", CancellationToken.None))!;
        await (kept with { Points = [.. kept.Points.Select(p => p with { MsgId = long.MaxValue / 2 })] }).SaveAsync(meta, "trim", TimeProvider.System, CancellationToken.None);
        var resumed = await api.ConsumeUntilAsync(channels, "trim", msgs => msgs.Count >= 2);

        Assert.Equal(["r0-a", "r0-b"], Texts(first));
        // Resumed at the earliest stored msgs, with what the tick of the answered pack covers dropped again.
        Assert.Equal(["r1-a", "r1-b"], Texts(resumed));
        Assert.Equal(50UL, resumed[0].BeginTs);
    }

    [Fact]
    public async Task AnUnreadableKeptCheckpointIsA409UntilTheSubscriptionIsDeleted()
    {
        string[] channels = ["unreadable-0"];
        var api = Start();
        await api.CreateChannelsAsync(channels);
        await ProduceRoundAsync(api, channels, 0, timeTickAligned: true, keys: 1);
        await _gateway!.Services.GetRequiredService<ITxnKv>().SaveAsync(SubscriptionCheckpoint.Key("unreadable"), "{}");

        var consume = await api.Http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels, subName = "unreadable", timeTickAligned = true });
        var deleted = await api.Http.DeleteAsync("/api/v1/msgstream/subscriptions/unreadable");
        var fresh = await api.ConsumeUntilAsync(channels, "unreadable", msgs => msgs.Count >= 1);

        await GatewayBasicsTests.AssertProblem(consume, HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(["r0-a"], Texts(fresh));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AFailedSeekIsA404AndTheSubscriptionGoesOnFromItsAnswers(bool timeTickAligned)
    {
        var tag = timeTickAligned ? "tt" : "plain";
        string[] channels = [$"badseek-{tag}-0", $"badseek-{tag}-1"];
        var sub = $"badseek-{tag}";
        var api = Start();
        await api.CreateChannelsAsync(channels);
        await ProduceRoundAsync(api, channels, 0, timeTickAligned);
        var first = await api.ConsumeUntilAsync(channels, sub, msgs => msgs.Count >= 2, timeTickAligned);

        var positions = channels.Select(c => new { channelName = c, msgId = long.MaxValue / 2, msgGroup = sub, timestamp = 0UL });
        var seek = await api.Http.PostAsJsonAsync("/api/v1/msgstream/seek", new { subName = sub, channels, positions });
        await ProduceRoundAsync(api, channels, 1, timeTickAligned);
        var next = await api.ConsumeUntilAsync(channels, sub, msgs => msgs.Count >= 2, timeTickAligned);

        await GatewayBasicsTests.AssertProblem(seek, HttpStatusCode.NotFound);
        Assert.Equal(["r0-a", "r0-b"], Texts(first));
        Assert.Equal(["r1-a", "r1-b"], Texts(next));
    }

    [Fact]
    public async Task AKeptSubscriptionThatNoGatewayHoldsExpiresAndOneInUseOnAnotherGatewayDoesNot()
    {
        string[] channels = ["sweep-0"];
        var api = Start();
        await api.CreateChannelsAsync(channels);
        var services = _gateway!.Services;
        var mq = services.GetRequiredService<IMqClient>();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        StreamSubscriptions Gateway() => new(
            services.GetRequiredService<MsgStreamFactory>(), mq, services.GetRequiredService<ITxnKv>(), time,
            Options.Create(new StreamSubscriptionOptions { SubscriptionIdleSeconds = 60 }), NullLogger<StreamSubscriptions>.Instance);
        await using (var stopped = Gateway())
        {
            // Its gateway stops: the checkpoint and the group stay, and nobody opens them again.
            await stopped.ConsumeAsync("abandoned", channels, timeTickAligned: true, MqStartPosition.Earliest, TimeSpan.Zero);
        }
        await using var holder = Gateway();
        await using var sweeper = Gateway();
        await holder.ConsumeAsync("in-use", channels, timeTickAligned: true, MqStartPosition.Earliest, TimeSpan.Zero);

        var sweeps = new List<int>();
        for (var step = 0; step < 3; step++)
        {
            // Used every 25 s, answering nothing (the channel is empty), so only the refresh saves its checkpoint.
            time.Advance(TimeSpan.FromSeconds(25));
            await holder.ConsumeAsync("in-use", channels, timeTickAligned: true, MqStartPosition.Earliest, TimeSpan.Zero);
            sweeps.Add(await sweeper.ExpireIdleAsync());
        }

        Assert.Equal([0, 0, 1], sweeps);
        Assert.False(await mq.ConsumerGroupExistsAsync("sweep-0", "abandoned"));
        Assert.Null(await SubscriptionCheckpoint.LoadAsync(services.GetRequiredService<ITxnKv>(), "abandoned", CancellationToken.None));
        Assert.True(await mq.ConsumerGroupExistsAsync("sweep-0", "in-use"));
        Assert.NotNull(await SubscriptionCheckpoint.LoadAsync(services.GetRequiredService<ITxnKv>(), "in-use", CancellationToken.None));
        Assert.True(holder.Contains("in-use"));
    }

    public void Dispose()
    {
        _gateway?.Dispose();
        _dataDir.Dispose();
        GC.SuppressFinalize(this);
    }

    private static string[] Texts(IEnumerable<WirePack> packs) => [.. packs.SelectMany(p => p.Msgs).Select(m => m.Text).Order()];

    private static long[] Ids(IEnumerable<WirePack> packs, string round) =>
        [.. packs.SelectMany(p => p.Msgs).Where(m => m.Text.StartsWith(round, StringComparison.Ordinal)).Select(m => m.Id).Order()];

    /// <summary>
    /// Produces round <paramref name="round"/>: r{round}-a on key 0 at timestamp round·100 + 10, r{round}-b on key 1 at
    /// round·100 + 11, and for a time-ticked subscription a time tick at round·100 + 50 on every channel.
    /// </summary>
    private static async Task ProduceRoundAsync(MsgStreamApiClient api, string[] channels, int round, bool timeTickAligned, int keys = 2)
    {
        var at = (ulong)round * 100;
        await api.ProduceAsync(channels, new[] { Msg($"r{round}-a", 0, at + 10), Msg($"r{round}-b", 1, at + 11) }.Take(keys));
        if (timeTickAligned)
        {
            await api.ProduceAsync(channels, [new { msgType = "TimeTick", beginTs = at + 50, endTs = at + 50, hashKeys = new[] { 0u } }], "broadcast");
        }
    }

    private static object Msg(string text, uint key, ulong timestamp) => new
    {
        msgType = "Search",
        beginTs = timestamp,
        endTs = timestamp,
        hashKeys = new[] { key },
        payload = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text)),
    };

    private MsgStreamApiClient Start()
    {
        var settings = new Dictionary<string, string?>(BackendSettings)
        {
            ["Milvus:DataDir"] = _dataDir.Path,
            ["Milvus:TimeTick:Enabled"] = "false",
        };
        _gateway = new GatewayFactory(settings);
        return new MsgStreamApiClient(_gateway.CreateClient());
    }

    private MsgStreamApiClient Restart()
    {
        _gateway?.Dispose();
        return Start();
    }
}

/// <summary>Subscriptions kept across restarts on the embedded RocksMQ.</summary>
public sealed class SubscriptionRestartTests : SubscriptionRestartScenarios
{
    protected override IReadOnlyDictionary<string, string?> BackendSettings { get; } = new Dictionary<string, string?>();
}

/// <summary>Subscriptions kept across restarts on Redis Streams.</summary>
public sealed class RedisSubscriptionRestartTests : SubscriptionRestartScenarios
{
    protected override IReadOnlyDictionary<string, string?> BackendSettings { get; } = new Dictionary<string, string?>
    {
        ["Milvus:Mq:Backend"] = "redis",
        ["Milvus:Redis:Configuration"] = TestServers.Redis,
        ["Milvus:Etcd:RootPath"] = $"restart-{Guid.NewGuid():N}",
    };
}
