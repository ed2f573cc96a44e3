using System.Text;
using Milvus.Domain;
using Milvus.Domain.Mq;

namespace Milvus.Tests.Mq;

/// <summary>
/// The keyed produce of the <see cref="IMqClient"/> contract: a batch is stored at most once per idempotency key and
/// channel, a retry gets the first call's ids and note, another batch under the key stores nothing.
/// </summary>
public abstract partial class MqClientContractTests
{
    private static readonly TimeSpan KeyLifetime = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task AKeyedProduceIsStoredOnceAndARetryGetsTheSameIdsAndNote()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        var batch = Payloads("a", "b", "c");
        var key = Key("k-1", batch, note: "first note");

        var first = await Mq.ProduceAsync("ch", batch, key);
        var retry = await Mq.ProduceAsync("ch", batch, Key("k-1", batch, note: "the retry's note"));

        Assert.False(first.Replayed);
        Assert.True(retry.Replayed);
        Assert.Equal(first.Ids, retry.Ids);
        Assert.Equal("first note", Encoding.UTF8.GetString(retry.Note.Span));
        Assert.Equal(["a", "b", "c"], Texts(await Mq.ConsumeAsync("ch", "g", 10)));
        Assert.Equal(first.Ids[^1], await Mq.GetLatestMsgIdAsync("ch"));
    }

    [Fact]
    public async Task AStoredKeyIsFoundWithItsFingerprint()
    {
        await Mq.CreateChannelAsync("ch");
        var batch = Payloads("a");
        var key = Key("k", batch);
        await Mq.ProduceAsync("ch", batch, key);

        var found = await Mq.FindProduceKeyAsync("ch", "k");

        Assert.Equal(key.Fingerprint.ToArray(), found?.ToArray());
        Assert.Null(await Mq.FindProduceKeyAsync("ch", "other"));
        Assert.Null(await Mq.FindProduceKeyAsync("missing", "k"));
    }

    [Fact]
    public async Task TheSameKeyForAnotherBatchIsRefusedAndStoresNothing()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        var first = await Mq.ProduceAsync("ch", Payloads("a"), Key("k", Payloads("a")));

        var other = Payloads("b");
        var reused = await Assert.ThrowsAsync<MqIdempotencyKeyReusedException>(() => Mq.ProduceAsync("ch", other, Key("k", other)));
        var longer = Payloads("a", "a");
        await Assert.ThrowsAsync<MqIdempotencyKeyReusedException>(() => Mq.ProduceAsync("ch", longer, Key("k", Payloads("a"))));

        Assert.Equal(ErrorKind.KeyReused, reused.Kind);
        Assert.Contains("'k'", reused.Message, StringComparison.Ordinal);
        Assert.Equal(["a"], Texts(await Mq.ConsumeAsync("ch", "g", 10)));
        Assert.Equal(first.Ids[^1], await Mq.GetLatestMsgIdAsync("ch"));
    }

    [Fact]
    public async Task KeysBelongToTheirChannelAndLiveBesideUnkeyedProduces()
    {
        await Mq.CreateChannelAsync("ch1");
        await Mq.CreateChannelAsync("ch2");
        await Mq.CreateConsumerGroupAsync("ch2", "g", MqStartPosition.Earliest);
        var batch = Payloads("x");

        var one = await Mq.ProduceAsync("ch1", batch, Key("shared", batch));
        var plain = await Mq.ProduceAsync("ch2", Payloads("plain"));
        var two = await Mq.ProduceAsync("ch2", batch, Key("shared", batch));

        Assert.False(one.Replayed);
        Assert.False(two.Replayed);
        Assert.True(two.Ids[0] > plain[0]);
        Assert.Equal(["plain", "x"], Texts(await Mq.ConsumeAsync("ch2", "g", 10)));
    }

    [Fact]
    public async Task ConcurrentProducesWithOneKeyStoreTheBatchOnce()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        var batch = Payloads("p", "q");

        var calls = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            // Unkeyed produces in between, so that the keyed ones share group commits with others.
            await Mq.ProduceAsync("ch", Payloads($"plain-{i}"));
            return await Mq.ProduceAsync("ch", batch, Key("once", batch));
        })));

        Assert.Single(calls, c => !c.Replayed);
        Assert.All(calls, c => Assert.Equal(calls[0].Ids, c.Ids));
        var read = Texts(await Mq.ConsumeAsync("ch", "g", 100));
        Assert.Equal(10, read.Count);
        Assert.Equal(1, read.Count(t => t == "p"));
        Assert.Equal(8, read.Count(t => t.StartsWith("plain-", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AKeySurvivesARestart()
    {
        await Mq.CreateChannelAsync("ch");
        var batch = Payloads("durable");
        var first = await Mq.ProduceAsync("ch", batch, Key("k", batch, note: "n"));

        await _backend.RestartAsync();
        var retry = await Mq.ProduceAsync("ch", batch, Key("k", batch));

        Assert.True(retry.Replayed);
        Assert.Equal(first.Ids, retry.Ids);
        Assert.Equal("n", Encoding.UTF8.GetString(retry.Note.Span));
        Assert.Equal(first.Ids[^1], await Mq.GetLatestMsgIdAsync("ch"));
    }

    [Fact]
    public async Task ARecreatedChannelHasForgottenItsKeys()
    {
        await Mq.CreateChannelAsync("ch");
        var batch = Payloads("a");
        await Mq.ProduceAsync("ch", batch, Key("k", batch));
        await Mq.DestroyChannelsAsync(["ch"]);
        await Mq.CreateChannelAsync("ch");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);

        var again = await Mq.ProduceAsync("ch", batch, Key("k", batch));

        Assert.False(again.Replayed);
        Assert.Equal(["a"], Texts(await Mq.ConsumeAsync("ch", "g", 10)));
    }

    [Fact]
    public async Task AnExpiredKeyStoresTheBatchAgain()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        var batch = Payloads("a");
        var shortLived = new MqProduceKey("k", MqProduceKey.FingerprintOf(batch), TimeSpan.FromMilliseconds(50));
        var first = await Mq.ProduceAsync("ch", batch, shortLived);

        // Each replay stores nothing; the first call after the key expired stores the batch again.
        MqProduced again;
        using var timeout = new CancellationTokenSource(Patience);
        do
        {
            timeout.Token.ThrowIfCancellationRequested();
            again = await Mq.ProduceAsync("ch", batch, shortLived);
        }
        while (again.Replayed);

        Assert.True(again.Ids[0] > first.Ids[0]);
        Assert.Equal(["a", "a"], Texts(await Mq.ConsumeAsync("ch", "g", 10)));
    }

    [Fact]
    public async Task AKeyedProduceOnAMissingChannelIsANotFoundAndStoresNoKey()
    {
        var batch = Payloads("a");

        await Assert.ThrowsAsync<MqChannelNotFoundException>(() => Mq.ProduceAsync("missing", batch, Key("k", batch)));
        await Mq.CreateChannelAsync("missing");
        var first = await Mq.ProduceAsync("missing", batch, Key("k", batch));

        Assert.False(first.Replayed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("line\n")]
    [InlineData("é")]
    public void AnInvalidKeyIsRefusedBeforeAnythingIsCalled(string key)
    {
        var error = Assert.Throws<MqInvalidArgumentException>(() => new MqProduceKey(key, new byte[MqProduceKey.FingerprintBytes], KeyLifetime));

        Assert.Equal(ErrorKind.Invalid, error.Kind);
    }

    private static MqProduceKey Key(string key, IReadOnlyList<ReadOnlyMemory<byte>> batch, string note = "") =>
        new(key, MqProduceKey.FingerprintOf(batch), KeyLifetime, Encoding.UTF8.GetBytes(note));
}
