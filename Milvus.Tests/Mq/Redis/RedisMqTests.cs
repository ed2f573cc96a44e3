using Microsoft.Extensions.Time.Testing;
using Milvus.Domain;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Redis;
using Milvus.Tests.Infrastructure;
using Milvus.Tests.Kv;
using StackExchange.Redis;

namespace Milvus.Tests.Mq.Redis;

/// <summary>A Redis Streams queue on the real Redis of scripts/test.sh, under a root path of its own.</summary>
internal sealed class RedisMqHost : IMqTestBackend
{
    private readonly TimeProvider _time;

    private RedisMqHost(string rootPath, TimeProvider time, RedisMqClient mq)
    {
        RootPath = rootPath;
        _time = time;
        Client = mq;
    }

    public string RootPath { get; }

    public RedisMqClient Client { get; private set; }

    public IMqClient Mq => Client;

    /// <summary>A queue under a fresh root path, so that it starts empty.</summary>
    public static async Task<RedisMqHost> StartAsync(TimeProvider? time = null)
    {
        var rootPath = $"mq-tests-{Guid.NewGuid():N}";
        time ??= TimeProvider.System;
        return new RedisMqHost(rootPath, time, await RedisMqClient.ConnectAsync(TestServers.Redis, rootPath, time));
    }

    public async Task RestartAsync()
    {
        await Client.DisposeAsync();
        Client = await RedisMqClient.ConnectAsync(TestServers.Redis, RootPath, _time);
    }

    public async ValueTask DisposeAsync() => await Client.DisposeAsync();
}

/// <summary>The message-queue contract on Redis Streams.</summary>
public sealed class RedisMqContractTests : MqClientContractTests
{
    protected override async Task<IMqTestBackend> StartAsync(TimeProvider time) => await RedisMqHost.StartAsync(time);
}

/// <summary>What only the Redis Streams queue promises beyond the <see cref="MqClientContractTests"/>.</summary>
public sealed class RedisMqTests : IAsyncLifetime
{
    private RedisMqHost _host = null!;

    private RedisMqClient Mq => _host.Client;

    public async Task InitializeAsync() => _host = await RedisMqHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task EachChannelIsOneStreamWhoseEntryIdsMapToTheMsgIds()
    {
        await Mq.CreateChannelAsync("ch");
        var ids = await Mq.ProduceAsync("ch", MqClientContractTests.Payloads("a", "b", "c"));
        await using var redis = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis);

        var entries = await redis.GetDatabase().StreamRangeAsync(Mq.StreamKey("ch"));

        Assert.Equal(ids, entries.Select(e => RedisMqIds.FromEntryId((string)e.Id!)));
        Assert.Equal(ids.Select(RedisMqIds.ToEntryId), entries.Select(e => (string)e.Id!));
        Assert.Equal(["a", "b", "c"], entries.Select(e => (string)e.Values.Single().Value!));
        Assert.Equal([ids[0] + 1, ids[0] + 2], ids.Skip(1));
    }

    [Fact]
    public async Task IdsIncreaseAcrossChannelsSoThatAnIdOfOneChannelIsNeverStoredOnAnother()
    {
        await Mq.CreateChannelAsync("x");
        await Mq.CreateChannelAsync("y");
        var all = new List<long>();
        for (var i = 0; i < 20; i++)
        {
            all.AddRange(await Mq.ProduceAsync(i % 2 == 0 ? "x" : "y", MqClientContractTests.Payloads("1", "2")));
        }

        Assert.Equal(all.Order(), all);
        Assert.Equal(all.Count, all.Distinct().Count());
    }

    [Fact]
    public async Task DestroyingAChannelDeletesItsStreamAndSparesItsNeighbours()
    {
        await Mq.CreateChannelAsync("a");
        await Mq.CreateChannelAsync("a.b");
        await Mq.ProduceAsync("a", MqClientContractTests.Payloads("1", "2"));
        await Mq.ProduceAsync("a.b", MqClientContractTests.Payloads("3"));
        await Mq.CreateConsumerGroupAsync("a", "g", MqStartPosition.Earliest);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
        var db = redis.GetDatabase();

        await Mq.DestroyChannelAsync("a");

        Assert.False(await db.KeyExistsAsync(Mq.StreamKey("a")));
        Assert.Equal(1, await db.StreamLengthAsync(Mq.StreamKey("a.b")));
        Assert.Equal(["a.b"], await Mq.ListChannelsAsync());
    }

    [Fact]
    public async Task AConsumerOnOneClientWakesByPubSubWhenAnotherClientProduces()
    {
        // The waiting client's clock never moves, so its periodic look never fires: only the wake-up can end the wait.
        var frozen = new FakeTimeProvider();
        await using var waiter = await RedisMqClient.ConnectAsync(TestServers.Redis, _host.RootPath, frozen);
        await Mq.CreateChannelAsync("ch");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);

        for (var round = 0; round < 20; round++)
        {
            var waiting = waiter.ConsumeAsync("ch", "g", 10, TimeSpan.FromMinutes(10));
            await Mq.ProduceAsync("ch", MqClientContractTests.Payloads($"r{round}"));

            var got = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal([$"r{round}"], MqClientContractTests.Texts(got));
        }
    }

    [Fact]
    public void EntryIdsAndMsgIdsMapBothWays()
    {
        var id = RedisMqIds.FromParts(1_764_000_000_123, RedisMqIds.MaxSeq);

        Assert.Equal("1764000000123-1048575", RedisMqIds.ToEntryId(id));
        Assert.Equal(id, RedisMqIds.FromEntryId("1764000000123-1048575"));
        Assert.Equal("1764000000124-0", RedisMqIds.ToEntryId(id + 1));
        Assert.Throws<FormatException>(() => RedisMqIds.FromEntryId("1-1048576"));
        Assert.Throws<FormatException>(() => RedisMqIds.FromEntryId("junk"));
    }

    [Fact]
    public async Task EveryCallFailsAsUnavailableWhileRedisCannotBeReached()
    {
        await using var down = await RedisMqClient.ConnectAsync($"127.0.0.1:{KvTestBackends.ClosedPort()}", "down");

        var errors = new[]
        {
            await Assert.ThrowsAsync<MqUnavailableException>(() => down.CreateChannelAsync("ch")),
            await Assert.ThrowsAsync<MqUnavailableException>(() => down.ProduceAsync("ch", MqClientContractTests.Payloads("x"))),
            await Assert.ThrowsAsync<MqUnavailableException>(() => down.ConsumeAsync("ch", "g", 1, TimeSpan.FromSeconds(1))),
            await Assert.ThrowsAsync<MqUnavailableException>(() => down.ListChannelsAsync()),
            await Assert.ThrowsAsync<MqUnavailableException>(() => down.PingAsync()),
        };

        Assert.All(errors, e => Assert.Equal(ErrorKind.Unavailable, e.Kind));
    }
}
