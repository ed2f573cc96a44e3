using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Redis;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Mq.Redis;

/// <summary>
/// A call that fails while Redis is frozen (kill -STOP) changes nothing once Redis goes on: the script that Redis
/// runs late sees its deadline gone. So a produce's error answer stored nothing (a retry does not duplicate it), and a
/// consume's error answer moved no group (no acknowledged msg goes undelivered).
/// </summary>
public sealed class RedisFreezeTests
{
    // A short call timeout keeps the freeze short; the scripts' deadline is derived from it.
    private const string Timeouts = ",asyncTimeout=1500,syncTimeout=1500";

    private static readonly ReadOnlyMemory<byte>[] Batch = [new byte[] { 1 }, new byte[] { 2 }, new byte[] { 3 }];

    [Fact]
    public async Task AProduceThatFailsWhileRedisIsFrozenHasStoredNothingOnceRedisGoesOn()
    {
        await using var redis = await PrivateServer.StartRedisAsync();
        await using var mq = await RedisMqClient.ConnectAsync(redis.Address + Timeouts, "freeze");
        await mq.CreateChannelAsync("c");
        await mq.CreateConsumerGroupAsync("c", "g", MqStartPosition.Earliest);
        // A running gateway has its scripts in Redis's cache: the late call runs, rather than failing for want of it.
        var before = await mq.ProduceAsync("c", Batch);
        Assert.Equal(before, (await mq.ConsumeAsync("c", "g", 100)).Select(m => m.MsgId));

        await redis.FreezeAsync();
        try
        {
            await Assert.ThrowsAsync<MqUnavailableException>(() => mq.ProduceAsync("c", Batch));
        }
        finally
        {
            await redis.ThawAsync();
        }
        // Redis answers in order on the connection: once the ping is back, the late script has run.
        await mq.PingAsync();

        Assert.Empty(await mq.ConsumeAsync("c", "g", 100));
        Assert.Equal(before[^1], await mq.GetLatestMsgIdAsync("c"));
        var retried = await mq.ProduceAsync("c", Batch);
        Assert.Equal(retried, (await mq.ConsumeAsync("c", "g", 100)).Select(m => m.MsgId));
    }

    [Fact]
    public async Task AConsumeThatFailsWhileRedisIsFrozenHasNotMovedItsGroupOnceRedisGoesOn()
    {
        await using var redis = await PrivateServer.StartRedisAsync();
        await using var mq = await RedisMqClient.ConnectAsync(redis.Address + Timeouts, "freeze");
        await mq.CreateChannelAsync("c");
        await mq.CreateConsumerGroupAsync("c", "g", MqStartPosition.Earliest);
        // A running gateway has its scripts in Redis's cache: the late call runs, rather than failing for want of it.
        Assert.Empty(await mq.ConsumeAsync("c", "g", 100));
        var produced = await mq.ProduceAsync("c", Batch);

        await redis.FreezeAsync();
        try
        {
            await Assert.ThrowsAsync<MqUnavailableException>(() => mq.ConsumeAsync("c", "g", 100));
        }
        finally
        {
            await redis.ThawAsync();
        }
        await mq.PingAsync();

        Assert.Equal(produced, (await mq.ConsumeAsync("c", "g", 100)).Select(m => m.MsgId));
    }
}
