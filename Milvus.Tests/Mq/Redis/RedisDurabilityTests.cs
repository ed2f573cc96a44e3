using System.Net;
using System.Net.Http.Json;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Redis;
using Milvus.Tests.Api;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Mq.Redis;

/// <summary>
/// <c>Milvus:RedisMq:Durability</c>: under <c>always</c> the queue produces only on a Redis that fsyncs every write, so
/// that kill -9 of Redis right after acknowledged produces loses none; on any other Redis it refuses, naming the setting.
/// </summary>
public sealed class RedisDurabilityTests
{
    private static readonly ReadOnlyMemory<byte>[] Batch = [new byte[] { 1 }, new byte[] { 2 }, new byte[] { 3 }];

    [Theory]
    [InlineData("everysec", RedisDurability.EverySecond)]
    [InlineData("always", RedisDurability.Always)]
    [InlineData(" Always ", RedisDurability.Always)]
    [InlineData("replicas:2", RedisDurability.Replicas)]
    [InlineData("sometimes", null)]
    [InlineData("replicas:0", null)]
    [InlineData("replicas:17", null)]
    [InlineData("replicas:+1", null)]
    public void TheSettingIsEverysecAlwaysOrReplicasAndAnythingElseIsRefusedByName(string value, RedisDurability? mode)
    {
        var options = new RedisMqOptions { Durability = value };

        Assert.Equal(mode, options.DurabilityMode);
        Assert.Equal(mode == RedisDurability.Replicas ? 2 : 0, options.Replicas);
        Assert.Equal(mode is null, options.Validate()?.Contains("Milvus:RedisMq:Durability", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task AlwaysOnARedisThatDoesNotFsyncEveryWriteRefusesToProduceAndNamesTheSettings()
    {
        var root = "durability-" + Guid.NewGuid().ToString("N");
        await using var mq = new RedisMqClient(TestServers.Redis, root, durability: RedisDurability.Always);

        var refused = await Assert.ThrowsAsync<MqUnavailableException>(() => mq.OpenAsync(CancellationToken.None));
        await mq.CreateChannelAsync("c");
        var produce = await Assert.ThrowsAsync<MqUnavailableException>(() => mq.ProduceAsync("c", Batch));

        Assert.Contains("appendfsync", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Milvus:RedisMq:Durability", produce.Message, StringComparison.Ordinal);
        Assert.Equal(produce.Message, mq.DurabilityProblem);
        Assert.Null(await mq.GetLatestMsgIdAsync("c"));
        await mq.DestroyChannelAsync("c");
    }

    [Fact]
    public async Task AlwaysOnARedisThatFsyncsEveryWriteLosesNoAcknowledgedMsgToKill9()
    {
        await using var redis = await PrivateServer.StartRedisAsync();
        var acknowledged = new List<long>();
        await using (var mq = new RedisMqClient(redis.Address, "always", durability: RedisDurability.Always))
        {
            await mq.OpenAsync(CancellationToken.None);
            await mq.CreateChannelAsync("c");
            await mq.CreateConsumerGroupAsync("c", "g", MqStartPosition.Earliest);
            for (var i = 0; i < 100; i++)
            {
                acknowledged.AddRange(await mq.ProduceAsync("c", Batch));
            }
            Assert.Null(mq.DurabilityProblem);
            // kill -9 right after the last acknowledgement.
            await redis.StopAsync();
        }
        await redis.StartAgainAsync();

        await using var after = new RedisMqClient(redis.Address, "always", durability: RedisDurability.Always);
        await after.OpenAsync(CancellationToken.None);
        var consumed = new List<long>();
        while (await after.ConsumeAsync("c", "g", 1000) is { Count: > 0 } msgs)
        {
            consumed.AddRange(msgs.Select(m => m.MsgId));
        }
        Assert.Equal(300, acknowledged.Count);
        Assert.Equal(acknowledged, consumed);
    }

    [Fact]
    public async Task ReplicasNAcknowledgesOnceNReplicasHaveTheBatchAndOtherwiseSaysTheOutcomeIsUnknownAndARetryWithTheKeyStoresNothingTwice()
    {
        await using var primary = await PrivateServer.StartRedisAsync();
        await using var replica = await StartReplicaAsync(primary);
        await using var one = new RedisMqClient(primary.Address, "replicated", durability: RedisDurability.Replicas, replicas: 1);
        await using var two = new RedisMqClient(primary.Address, "replicated", durability: RedisDurability.Replicas, replicas: 2);
        await one.OpenAsync(CancellationToken.None);
        await two.OpenAsync(CancellationToken.None);
        await one.CreateChannelAsync("c");
        await one.CreateConsumerGroupAsync("c", "g", MqStartPosition.Earliest);
        await WaitForReplicaAsync(primary.Address);

        var key = new MqProduceKey("write-1", MqProduceKey.FingerprintOf(Batch), TimeSpan.FromMinutes(10));

        var confirmed = await one.ProduceAsync("c", Batch);
        var unconfirmed = await Assert.ThrowsAsync<MqUnavailableException>(() => two.ProduceAsync("c", Batch, key));
        var retried = await one.ProduceAsync("c", Batch, key);

        Assert.Contains("1 of the 2 Redis replicas", unconfirmed.Message, StringComparison.Ordinal);
        Assert.Contains("outcome is unknown", unconfirmed.Message, StringComparison.Ordinal);
        // The replica has what was confirmed: read it there.
        await using var onReplica = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(replica.Address);
        var entries = await onReplica.GetDatabase().StreamRangeAsync(one.StreamKey("c"));
        Assert.Equal(confirmed.Count + Batch.Length, entries.Length);
        // The retry found the unconfirmed batch on the primary and answered its ids.
        Assert.True(retried.Replayed);
        Assert.Equal(retried.Ids, entries.Skip(confirmed.Count).Select(e => RedisMqIds.FromEntryId(e.Id!)));
    }

    /// <summary>A redis-server that replicates <paramref name="primary"/>.</summary>
    private static Task<PrivateServer> StartReplicaAsync(PrivateServer primary) =>
        PrivateServer.StartAsync(PrivateServer.Require("MILVUS_TEST_REDIS_BIN"), s =>
        [
            "--bind", "127.0.0.1", "--port", s.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--dir", s.DataDir,
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--replicaof", "127.0.0.1", primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ]);

    /// <summary>Waits until the primary reports a replica in sync (<c>INFO replication</c>).</summary>
    private static async Task WaitForReplicaAsync(string primary)
    {
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(primary + ",allowAdmin=true");
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (!((string?)await connection.GetDatabase().ExecuteAsync("INFO", "replication") ?? "").Contains("state=online", StringComparison.Ordinal))
        {
            await poll.WaitForNextTickAsync(patience.Token);
        }
    }

    [Fact]
    public async Task AGatewayWithAlwaysOnARedisThatDoesNotFsyncAnswers503ProblemsAndReadinessSaysWhy()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Mq:Backend"] = "redis",
            ["Milvus:Redis:Configuration"] = TestServers.Redis,
            ["Milvus:Etcd:RootPath"] = "durability-" + Guid.NewGuid().ToString("N"),
            ["Milvus:RedisMq:Durability"] = "always",
        });
        using var client = factory.CreateClient();

        using var created = await client.PutAsJsonAsync("/api/v1/channels/durable", new { });
        using var produce = await client.PostAsJsonAsync("/api/v1/channels/durable/messages", new { messages = new[] { new { payload = "AQ==" } } });
        using var ready = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, produce.StatusCode);
        Assert.Equal("application/problem+json", produce.Content.Headers.ContentType?.MediaType);
        Assert.Contains("appendfsync", await produce.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("appendfsync", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
