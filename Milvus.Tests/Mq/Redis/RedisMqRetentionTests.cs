using System.Text;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Redis;
using Milvus.Tests.Infrastructure;
using StackExchange.Redis;

namespace Milvus.Tests.Mq.Redis;

/// <summary>Redis stream retention with RocksMQ's rules: only what every group has read goes, by time or by size.</summary>
public sealed class RedisMqRetentionTests : IAsyncLifetime
{
    private static readonly RedisMqOptions AtOnce = new() { RetentionTimeInMinutes = 0, RetentionSizeInMB = -1 };
    private RedisMqHost _host = null!;
    private ConnectionMultiplexer _redis = null!;

    private RedisMqClient Mq => _host.Client;

    public async Task InitializeAsync()
    {
        _host = await RedisMqHost.StartAsync();
        _redis = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
    }

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task WithTimeZeroWhatEveryGroupHasReadGoesAndEachGroupReadsOnWithNothingSkipped()
    {
        await Mq.CreateChannelAsync("c");
        await Mq.CreateConsumerGroupAsync("c", "fast", MqStartPosition.Earliest);
        await Mq.CreateConsumerGroupAsync("c", "slow", MqStartPosition.Earliest);
        var ids = await ProduceAsync("c", 100);
        await Mq.ConsumeAsync("c", "fast", 60);
        await Mq.ConsumeAsync("c", "slow", 30);

        var pass = await Mq.RunRetentionAsync(AtOnce);
        var slowNext = await Mq.ConsumeAsync("c", "slow", 1);
        var fastNext = await Mq.ConsumeAsync("c", "fast", 1);
        await Mq.SeekToAsync("c", "fast", MqStartPosition.Earliest);
        var earliest = await Mq.ConsumeAsync("c", "fast", 1);

        Assert.Equal(30, pass.Trimmed);
        Assert.Equal(70, pass.Lengths["c"]);
        Assert.Equal(70, await StreamLengthAsync("c"));
        Assert.Equal(ids[30], slowNext.Single().MsgId);
        Assert.Equal(ids[60], fastNext.Single().MsgId);
        Assert.Equal(ids[30], earliest.Single().MsgId);
        await Assert.ThrowsAsync<MqMsgIdNotFoundException>(() => Mq.SeekAsync("c", "slow", ids[29]));
    }

    [Fact]
    public async Task NothingGoesFromAChannelWithoutGroupsNorWhatIsYoungerThanTheTimeNorWithTheRulesOff()
    {
        await Mq.CreateChannelAsync("nogroups");
        await Mq.CreateChannelAsync("young");
        await ProduceAsync("nogroups", 20);
        await Mq.CreateConsumerGroupAsync("young", "g", MqStartPosition.Earliest);
        await ProduceAsync("young", 20);
        await Mq.ConsumeAsync("young", "g", 20);

        var aged = await Mq.RunRetentionAsync(new RedisMqOptions { RetentionTimeInMinutes = 10, RetentionSizeInMB = -1 });
        var off = await Mq.RunRetentionAsync(new RedisMqOptions { RetentionTimeInMinutes = -1, RetentionSizeInMB = -1 });
        var atOnce = await Mq.RunRetentionAsync(AtOnce);

        Assert.Equal(0, aged.Trimmed);
        Assert.Equal(0, off.Trimmed);
        Assert.Equal(20, atOnce.Trimmed);
        Assert.Equal(20, atOnce.Lengths["nogroups"]);
        Assert.Equal(0, atOnce.Lengths["young"]);
    }

    [Fact]
    public async Task TheSizeRuleTrimsTheOldestReadEntriesAndNeverAnUnreadOne()
    {
        await Mq.CreateChannelAsync("big");
        await Mq.CreateConsumerGroupAsync("big", "g", MqStartPosition.Earliest);
        var ids = await ProduceAsync("big", 200, payloadBytes: 4096);
        await Mq.ConsumeAsync("big", "g", 150);
        var bySize = new RedisMqOptions { RetentionTimeInMinutes = -1, RetentionSizeInMB = 0 };

        var first = await Mq.RunRetentionAsync(bySize);
        // After a seek Redis cannot count the group's unread entries until it reads again: the walk still stops at them.
        await Mq.SeekAsync("big", "g", ids[180]);
        await ProduceAsync("big", 10, payloadBytes: 4096);
        var second = await Mq.RunRetentionAsync(bySize);
        var next = await Mq.ConsumeAsync("big", "g", 1);

        Assert.Equal(150, first.Trimmed);
        Assert.Equal(50, first.Lengths["big"]);
        Assert.Equal(30, second.Trimmed);
        Assert.Equal(30, second.Lengths["big"]);
        Assert.Equal(ids[180], next.Single().MsgId);
    }

    [Fact]
    public async Task WhatASubscriptionOrArchiverResumesAtStaysThoughItsGroupHasReadAhead()
    {
        await Mq.CreateChannelAsync("ahead");
        await Mq.CreateConsumerGroupAsync("ahead", "sub", MqStartPosition.Earliest);
        var ids = await ProduceAsync("ahead", 100, payloadBytes: 1024);
        await Mq.ConsumeAsync("ahead", "sub", 100);
        var keepFrom = new Dictionary<string, long> { ["ahead"] = ids[40] };

        var byTime = await Mq.RunRetentionAsync(AtOnce, keepFrom);
        var bySize = await Mq.RunRetentionAsync(new RedisMqOptions { RetentionTimeInMinutes = -1, RetentionSizeInMB = 0 }, new Dictionary<string, long> { ["ahead"] = ids[70] });
        await Mq.SeekAsync("ahead", "sub", ids[70]);
        var resumed = await Mq.ConsumeAsync("ahead", "sub", 1);

        Assert.Equal(40, byTime.Trimmed);
        Assert.Equal(60, byTime.Lengths["ahead"]);
        Assert.Equal(30, bySize.Trimmed);
        Assert.Equal(ids[70], resumed.Single().MsgId);
    }

    private async Task<IReadOnlyList<long>> ProduceAsync(string channel, int count, int payloadBytes = 16)
    {
        var payloads = Enumerable.Range(0, count)
            .Select(i => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture).PadRight(payloadBytes, '.')))
            .ToArray();
        return await Mq.ProduceAsync(channel, payloads);
    }

    private Task<long> StreamLengthAsync(string channel) => _redis.GetDatabase().StreamLengthAsync(Mq.StreamKey(channel));
}
