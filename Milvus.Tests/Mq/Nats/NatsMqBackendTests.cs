using Microsoft.Extensions.Time.Testing;
using Milvus.Domain;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Nats;
using Milvus.Tests.Kv;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Milvus.Tests.Mq.Nats;

/// <summary>What only the NATS JetStream queue promises beyond the <see cref="MqClientContractTests"/>.</summary>
public sealed class NatsMqBackendTests : IAsyncLifetime
{
    private NatsMqHost _host = null!;

    private NatsMqClient Mq => _host.Client;

    public async Task InitializeAsync() => _host = await NatsMqHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task EachProduceCallIsOneJetStreamMessageAndItsIdsAreItsOffsetSequenceShiftedPlusTheIndex()
    {
        await Mq.CreateChannelAsync("ch");
        var first = await Mq.ProduceAsync("ch", MqClientContractTests.Payloads("a", "b", "c"));
        var second = await Mq.ProduceAsync("ch", MqClientContractTests.Payloads("d"));
        await using var raw = NatsMqHost.Raw();
        var js = new NatsJSContext(raw);

        var stream = await js.GetStreamAsync(Mq.DataStream);
        var stored = await stream.GetAsync(new StreamMsgGetRequest { Seq = stream.Info.State.LastSeq });

        Assert.Equal(2, stream.Info.State.Messages);
        Assert.Equal([first[0], first[0] + 1, first[0] + 2], first);
        Assert.Equal((long)(stream.Info.State.LastSeq + (1UL << 20)) << 20, second[0]);
        Assert.Equal((long)(stream.Info.State.FirstSeq + (1UL << 20)) << 20, first[0]);
        Assert.Equal(1, NatsMqBatch.Count(stored.Message.Data.Span));
    }

    [Fact]
    public async Task ABatchLargerThanTheServersMaxPayloadIsTooLargeAndNothingIsStored()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        await using var raw = NatsMqHost.Raw();
        await raw.ConnectAsync();
        var big = new byte[(raw.ServerInfo!.MaxPayload / 2) + 1];

        var error = await Assert.ThrowsAsync<MqMessageTooLargeException>(() => Mq.ProduceAsync("ch", [big, big]));

        Assert.Equal(ErrorKind.TooLarge, error.Kind);
        Assert.Null(await Mq.GetLatestMsgIdAsync("ch"));
        Assert.Empty(await Mq.ConsumeAsync("ch", "g", 10));
    }

    [Fact]
    public async Task AKeyLeftPendingByADeadGatewayIsSettledByTheRetryAndTheBatchIsStoredOnce()
    {
        await using var raw = NatsMqHost.Raw();
        var (js, incarnation) = await ChannelAsync(raw);
        var published = MqClientContractTests.Payloads("published");
        var unpublished = MqClientContractTests.Payloads("unpublished");
        var expires = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeMilliseconds();
        // A gateway died after publishing one key's batch, and before publishing the other's: both records stay pending.
        var died = new NatsMqClient.KeyRecord(MqProduceKey.FingerprintOf(published), 1, expires, [.. Enumerable.Repeat((byte)1, 16)], 0, [7]);
        var seq = await DieAfterPublishAsync(js, incarnation, "after", died, published);
        await js.PublishAsync(Mq.KeySubject(incarnation, "before"), (died with { Fingerprint = MqProduceKey.FingerprintOf(unpublished), Token = [.. Enumerable.Repeat((byte)2, 16)] }).Encode());

        var after = await Mq.ProduceAsync("ch", published, new MqProduceKey("after", MqProduceKey.FingerprintOf(published), TimeSpan.FromMinutes(10)));
        var before = await Mq.ProduceAsync("ch", unpublished, new MqProduceKey("before", MqProduceKey.FingerprintOf(unpublished), TimeSpan.FromMinutes(10)));
        var again = await Mq.ProduceAsync("ch", unpublished, new MqProduceKey("before", MqProduceKey.FingerprintOf(unpublished), TimeSpan.FromMinutes(10)));

        Assert.True(after.Replayed);
        Assert.Equal([NatsMqBatch.MsgId(seq, 0)], after.Ids);
        Assert.Equal([7], after.Note.ToArray());
        Assert.False(before.Replayed);
        Assert.True(again.Replayed);
        Assert.Equal(before.Ids, again.Ids);
        Assert.Equal(["published", "unpublished"], MqClientContractTests.Texts(await Mq.ConsumeAsync("ch", "g", 10)));
    }

    [Fact]
    public async Task AKeyLeftPendingLongerThanTheDuplicateWindowFindsTheBatchItsDeadCallStored()
    {
        await using var raw = NatsMqHost.Raw();
        var (js, incarnation) = await ChannelAsync(raw);
        var batch = MqClientContractTests.Payloads("once");
        var key = new MqProduceKey("k", MqProduceKey.FingerprintOf(batch), TimeSpan.FromMinutes(30));
        var died = new NatsMqClient.KeyRecord(key.Fingerprint.ToArray(), 1, DateTimeOffset.UtcNow.AddMinutes(30).ToUnixTimeMilliseconds(), [.. Enumerable.Repeat((byte)3, 16)], 0, []);
        var seq = await DieAfterPublishAsync(js, incarnation, "k", died, batch);
        // JetStream forgets the token at once, and the retry comes three minutes after the dead call (by its clock).
        var data = await js.GetStreamAsync(Mq.DataStream);
        await js.UpdateStreamAsync(data.Info.Config with { DuplicateWindow = TimeSpan.FromMilliseconds(100) });
        await Task.Delay(300);
        await using var later = await _host.ConnectAnotherAsync(new FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(3)));

        var retry = await later.ProduceAsync("ch", batch, key);

        Assert.True(retry.Replayed);
        Assert.Equal([NatsMqBatch.MsgId(seq, 0)], retry.Ids);
        Assert.Equal(["once"], MqClientContractTests.Texts(await Mq.ConsumeAsync("ch", "g", 10)));
    }

    /// <summary>Creates channel <c>ch</c> with group <c>g</c>; JetStream through <paramref name="raw"/>, and the channel's incarnation.</summary>
    private async Task<(NatsJSContext Js, ulong Incarnation)> ChannelAsync(NatsConnection raw)
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        var js = new NatsJSContext(raw);
        var meta = await js.GetStreamAsync(Mq.MetaStream);
        return (js, (await meta.GetAsync(new StreamMsgGetRequest { LastBySubj = $"{Mq.StreamPrefix}.m.c.ch" })).Message.Seq);
    }

    /// <summary>What a gateway that died after publishing a keyed batch leaves: the pending record and the batch; its sequence.</summary>
    private async Task<ulong> DieAfterPublishAsync(NatsJSContext js, ulong incarnation, string key, NatsMqClient.KeyRecord record, IReadOnlyList<ReadOnlyMemory<byte>> batch)
    {
        await js.PublishAsync(Mq.KeySubject(incarnation, key), record.Encode());
        var ack = await js.PublishAsync(Mq.DataSubject(incarnation), NatsMqBatch.Encode(batch, (int)NatsMqBatch.Size(batch)), opts: new NatsJSPubOpts { MsgId = NatsMqClient.MsgIdOf(record.Token) });
        return ack.Seq;
    }

    [Fact]
    public async Task AConsumerOnOneClientWakesByACoreNatsMessageWhenAnotherClientProduces()
    {
        // The waiting client's clock never moves, so its periodic look never fires: only the wake-up can end the wait.
        var frozen = new FakeTimeProvider();
        await using var waiter = await _host.ConnectAnotherAsync(frozen);
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
    public async Task TwoClientsSeeOneQueueAndARecreatedChannelDoesNotInheritTheOldGroups()
    {
        await using var other = await _host.ConnectAnotherAsync();
        await Mq.CreateChannelAsync("ch");
        await Mq.ProduceAsync("ch", MqClientContractTests.Payloads("old"));
        await other.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);

        await other.DestroyChannelAsync("ch");
        await Mq.CreateChannelAsync("ch");
        var inherited = await other.ConsumerGroupExistsAsync("ch", "g");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        var ids = await other.ProduceAsync("ch", MqClientContractTests.Payloads("new"));

        Assert.False(inherited);
        Assert.Equal(["ch"], await other.ListChannelsAsync());
        Assert.Equal(["new"], MqClientContractTests.Texts(await Mq.ConsumeAsync("ch", "g", 10)));
        Assert.Equal(ids[0], await other.GetLatestMsgIdAsync("ch"));
    }

    [Fact]
    public async Task AConsumeThatStopsInsideABatchResumesAtTheNextIndex()
    {
        await Mq.CreateChannelAsync("ch");
        var ids = await Mq.ProduceAsync("ch", MqClientContractTests.Payloads("a", "b", "c", "d", "e"));
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);

        var two = await Mq.ConsumeAsync("ch", "g", 2);
        await _host.RestartAsync();
        var rest = await Mq.ConsumeAsync("ch", "g", 10);
        await Mq.SeekAsync("ch", "g", ids[3]);
        var fromD = await Mq.ConsumeAsync("ch", "g", 10);

        Assert.Equal(["a", "b"], MqClientContractTests.Texts(two));
        Assert.Equal(["c", "d", "e"], MqClientContractTests.Texts(rest));
        Assert.Equal(["d", "e"], MqClientContractTests.Texts(fromD));
        await Assert.ThrowsAsync<MqMsgIdNotFoundException>(() => Mq.SeekAsync("ch", "g", ids[4] + 1));
    }

    [Fact]
    public async Task EveryCallFailsAsUnavailableWhileNatsCannotBeReached()
    {
        await using var down = await NatsMqClient.ConnectAsync(new NatsMqOptions { Url = $"nats://127.0.0.1:{KvTestBackends.ClosedPort()}", StreamPrefix = "down" });

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

    [Fact]
    public async Task ThreeReplicasOnASingleServerAnswerUnavailableNamingTheSetting()
    {
        await using var client = await NatsMqClient.ConnectAsync(new NatsMqOptions { Url = _host.Options.Url, StreamPrefix = _host.Options.StreamPrefix + "r3", Replicas = 3 });

        var error = await Assert.ThrowsAsync<MqUnavailableException>(() => client.CreateChannelAsync("ch"));

        Assert.Contains("Milvus:Nats:Replicas is 3", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Url", "", "Milvus:Nats:Url")]
    [InlineData("Replicas", "0", "Milvus:Nats:Replicas")]
    [InlineData("Replicas", "6", "Milvus:Nats:Replicas")]
    [InlineData("StreamPrefix", "a.b", "Milvus:Nats:StreamPrefix")]
    [InlineData("StreamPrefix", "", "Milvus:Nats:StreamPrefix")]
    [InlineData("Password", "p", "Milvus:Nats:Password")]
    [InlineData("RetentionIntervalSeconds", "0", "Milvus:Nats:RetentionIntervalSeconds")]
    public void AnInvalidSettingIsNamedByItsKey(string property, string value, string key)
    {
        var options = new NatsMqOptions();
        var info = typeof(NatsMqOptions).GetProperty(property)!;
        info.SetValue(options, info.PropertyType == typeof(int) ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : value);

        Assert.Null(new NatsMqOptions().Validate());
        Assert.StartsWith(key, options.Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void ATokenAndAUserTogetherAreRefused() =>
        Assert.Contains("Milvus:Nats:Token", new NatsMqOptions { User = "u", Token = "t" }.Validate(), StringComparison.Ordinal);
}
