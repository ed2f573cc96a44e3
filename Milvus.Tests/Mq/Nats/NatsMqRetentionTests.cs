using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Nats;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Milvus.Tests.Mq.Nats;

/// <summary>JetStream retention with RocksMQ's rules: only batches that every group has read whole go, by time or by size.</summary>
public sealed class NatsMqRetentionTests : IAsyncLifetime
{
    private static readonly NatsMqOptions AtOnce = new() { RetentionTimeInMinutes = 0, RetentionSizeInMB = -1 };
    private NatsMqHost _host = null!;

    private NatsMqClient Mq => _host.Client;

    public async Task InitializeAsync() => _host = await NatsMqHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task WithTimeZeroWhatEveryGroupHasReadWholeGoesAndEachGroupReadsOnWithNothingSkipped()
    {
        await Mq.CreateChannelAsync("c");
        await Mq.CreateConsumerGroupAsync("c", "fast", MqStartPosition.Earliest);
        await Mq.CreateConsumerGroupAsync("c", "slow", MqStartPosition.Earliest);
        var ids = await ProduceAsync("c", batches: 10, perBatch: 10);
        await Mq.ConsumeAsync("c", "fast", 60);
        await Mq.ConsumeAsync("c", "slow", 35);

        var pass = await Mq.RunRetentionAsync(AtOnce);
        var slowNext = await Mq.ConsumeAsync("c", "slow", 1);
        var fastNext = await Mq.ConsumeAsync("c", "fast", 1);
        await Mq.SeekToAsync("c", "fast", MqStartPosition.Earliest);
        var earliest = await Mq.ConsumeAsync("c", "fast", 1);

        // slow is inside the fourth batch: the first three go, the fourth stays whole.
        Assert.Equal(3, pass.Trimmed);
        Assert.Equal(7, pass.Lengths["c"]);
        Assert.Equal(ids[35], slowNext.Single().MsgId);
        Assert.Equal(ids[60], fastNext.Single().MsgId);
        Assert.Equal(ids[30], earliest.Single().MsgId);
        await Assert.ThrowsAsync<MqMsgIdNotFoundException>(() => Mq.SeekAsync("c", "slow", ids[29]));
    }

    [Fact]
    public async Task AChannelsNewestBatchStaysWhenEverythingIsReadSoItsLatestIdIsStillKnown()
    {
        await Mq.CreateChannelAsync("c");
        await Mq.CreateConsumerGroupAsync("c", "g", MqStartPosition.Earliest);
        var ids = await ProduceAsync("c", batches: 4, perBatch: 2);
        await Mq.ConsumeAsync("c", "g", 100);

        var pass = await Mq.RunRetentionAsync(AtOnce);
        await Mq.SeekToAsync("c", "g", MqStartPosition.Earliest);

        Assert.Equal(3, pass.Trimmed);
        Assert.Equal(ids[^1], await Mq.GetLatestMsgIdAsync("c"));
        Assert.Equal(ids[^2..], (await Mq.ConsumeAsync("c", "g", 100)).Select(m => m.MsgId));
    }

    [Fact]
    public async Task NothingGoesFromAChannelWithoutGroupsNorWhatIsYoungerThanTheTimeNorWithTheRulesOff()
    {
        await Mq.CreateChannelAsync("nogroups");
        await Mq.CreateChannelAsync("young");
        await ProduceAsync("nogroups", 5, 2);
        await Mq.CreateConsumerGroupAsync("young", "g", MqStartPosition.Earliest);
        await ProduceAsync("young", 5, 2);
        await Mq.ConsumeAsync("young", "g", 100);

        var young = await Mq.RunRetentionAsync(new NatsMqOptions { RetentionTimeInMinutes = 60, RetentionSizeInMB = -1 });
        var off = await Mq.RunRetentionAsync(new NatsMqOptions { RetentionTimeInMinutes = -1, RetentionSizeInMB = -1 });

        Assert.Equal(0, young.Trimmed);
        Assert.Equal(0, off.Trimmed);
        Assert.Equal(5, off.Lengths["nogroups"]);
        Assert.Equal(5, off.Lengths["young"]);
    }

    [Fact]
    public async Task BySizeTheOldestReadBatchesGoUntilTheReadOnesFitAndUnreadOnesStay()
    {
        await Mq.CreateChannelAsync("c");
        await Mq.CreateConsumerGroupAsync("c", "g", MqStartPosition.Earliest);
        var payload = new byte[300 * 1024];
        for (var i = 0; i < 10; i++)
        {
            await Mq.ProduceAsync("c", [payload]);
        }
        await Mq.ConsumeAsync("c", "g", 8);

        // 8 read batches of 300 KiB over 1 MiB: the oldest 5 go, 3 read (900 KiB) and 2 unread stay.
        var pass = await Mq.RunRetentionAsync(new NatsMqOptions { RetentionTimeInMinutes = -1, RetentionSizeInMB = 1 });

        Assert.Equal(5, pass.Trimmed);
        Assert.Equal(5, pass.Lengths["c"]);
        Assert.Equal(2, (await Mq.ConsumeAsync("c", "g", 10)).Count);
    }

    [Fact]
    public async Task AResumePointKeepsWhatLiesBeyondItWhateverTheGroupsRead()
    {
        await Mq.CreateChannelAsync("c");
        await Mq.CreateChannelAsync("d");
        await Mq.CreateConsumerGroupAsync("c", "g", MqStartPosition.Earliest);
        await Mq.CreateConsumerGroupAsync("d", "g", MqStartPosition.Earliest);
        var c = await ProduceAsync("c", 6, 1);
        await ProduceAsync("d", 6, 1);
        await Mq.ConsumeAsync("c", "g", 6);
        await Mq.ConsumeAsync("d", "g", 6);

        var pass = await Mq.RunRetentionAsync(AtOnce, new Dictionary<string, long> { ["c"] = c[2], ["d"] = 0 });

        Assert.Equal(2, pass.Trimmed);
        Assert.Equal(4, pass.Lengths["c"]);
        Assert.Equal(6, pass.Lengths["d"]);
    }

    [Fact]
    public async Task WhatAnInterruptedDestroyLeftBehindGoesAtTheNextPass()
    {
        await Mq.CreateChannelAsync("gone");
        await Mq.CreateConsumerGroupAsync("gone", "g", MqStartPosition.Earliest);
        await ProduceAsync("gone", 3, 1);
        await Mq.CreateChannelAsync("kept");
        await ProduceAsync("kept", 2, 1);
        await using var raw = NatsMqHost.Raw();
        var js = new NatsJSContext(raw);
        // Only the channel's record goes, as when NATS fails in the middle of a destroy.
        await js.PurgeStreamAsync(Mq.MetaStream, new StreamPurgeRequest { Filter = $"{Mq.StreamPrefix}.m.c.gone" });

        await Mq.RunRetentionAsync(new NatsMqOptions { RetentionTimeInMinutes = -1, RetentionSizeInMB = -1 });
        var data = await js.GetStreamAsync(Mq.DataStream);
        var meta = await js.GetStreamAsync(Mq.MetaStream);

        Assert.Equal(2, data.Info.State.Messages);
        Assert.Equal(1, meta.Info.State.Messages);
        Assert.Equal(["kept"], await Mq.ListChannelsAsync());
    }

    [Fact]
    public async Task ExpiredKeysGoAtTheNextPassAndADestroyedChannelsKeysGoWithIt()
    {
        await Mq.CreateChannelAsync("c");
        await Mq.CreateChannelAsync("gone");
        var batch = MqClientContractTests.Payloads("a");
        var fingerprint = MqProduceKey.FingerprintOf(batch);
        await Mq.ProduceAsync("c", batch, new MqProduceKey("short", fingerprint, TimeSpan.FromMilliseconds(1)));
        await Mq.ProduceAsync("c", batch, new MqProduceKey("long", fingerprint, TimeSpan.FromMinutes(10)));
        await Mq.ProduceAsync("gone", batch, new MqProduceKey("long", fingerprint, TimeSpan.FromMinutes(10)));
        await Mq.DestroyChannelAsync("gone");
        await Task.Delay(10);

        await Mq.RunRetentionAsync(new NatsMqOptions { RetentionTimeInMinutes = -1, RetentionSizeInMB = -1 });
        await using var raw = NatsMqHost.Raw();
        var js = new NatsJSContext(raw);
        var keys = await js.GetStreamAsync(Mq.MetaStream, new StreamInfoRequest { SubjectsFilter = $"{Mq.StreamPrefix}.m.k.>" });

        Assert.Equal(1, keys.Info.State.Subjects?.Count);
        Assert.Equal(fingerprint, (await Mq.FindProduceKeyAsync("c", "long"))?.ToArray());
        Assert.Null(await Mq.FindProduceKeyAsync("c", "short"));
    }

    private async Task<List<long>> ProduceAsync(string channel, int batches, int perBatch)
    {
        var ids = new List<long>();
        for (var b = 0; b < batches; b++)
        {
            ids.AddRange(await Mq.ProduceAsync(channel, MqClientContractTests.Payloads([.. Enumerable.Range(0, perBatch).Select(i => $"{b}:{i}")])));
        }
        return ids;
    }
}
