using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Milvus.Domain;
using Milvus.Domain.Mq;

namespace Milvus.Tests.Mq;

/// <summary>A message queue under test: its client, and a restart that keeps what it stored.</summary>
public interface IMqTestBackend : IAsyncDisposable
{
    IMqClient Mq { get; }

    /// <summary>Closes the client and opens the same store with new objects, as a process restart would.</summary>
    Task RestartAsync();
}

/// <summary>
/// The <see cref="IMqClient"/> contract, run against every backend on its real store: channels, groups, ordered
/// produce and consume, long polls, two-way inclusive seek, atomic destroy and concurrency. Each backend is a
/// one-line subclass.
/// </summary>
public abstract partial class MqClientContractTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private IMqTestBackend _backend = null!;

    protected IMqClient Mq => _backend.Mq;

    /// <summary>Starts a fresh, empty queue that measures time with <paramref name="time"/>.</summary>
    protected abstract Task<IMqTestBackend> StartAsync(TimeProvider time);

    public async Task InitializeAsync() => _backend = await StartAsync(TimeProvider.System);

    public async Task DisposeAsync() => await _backend.DisposeAsync();

    [Fact]
    public async Task ProducedMessagesAreConsumedInOrderAndACaughtUpGroupGetsAnEmptyList()
    {
        await Mq.CreateChannelAsync("ch");
        var first = await Mq.ProduceAsync("ch", Payloads("a"));
        var next = await Mq.ProduceAsync("ch", Payloads("b", "c"));
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        var again = await Assert.ThrowsAsync<MqGroupExistsException>(() => Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest));

        var one = await Mq.ConsumeAsync("ch", "g", 1);
        var two = await Mq.ConsumeAsync("ch", "g", 2);
        var none = await Mq.ConsumeAsync("ch", "g", 5);

        Assert.Equal(ErrorKind.Conflict, again.Kind);
        Assert.Equal(["a"], Texts(one));
        Assert.Equal(["b", "c"], Texts(two));
        Assert.Empty(none);
        Assert.True(first[0] < next[0] && next[0] < next[1]);
        Assert.Equal([.. first, .. next], one.Concat(two).Select(m => m.MsgId));
        Assert.Equal(next[1], await Mq.GetLatestMsgIdAsync("ch"));
    }

    [Fact]
    public async Task SeekMovesAGroupForwardsAndBackwardsAndIsInclusive()
    {
        await Mq.CreateChannelAsync("ch");
        var ids = await Mq.ProduceAsync("ch", Payloads([.. Enumerable.Range(1, 100).Select(i => $"m{i}")]));
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);

        await Mq.SeekAsync("ch", "g", ids[49]);
        var m50 = await Mq.ConsumeAsync("ch", "g", 1);
        var m51 = await Mq.ConsumeAsync("ch", "g", 1);
        await Mq.SeekAsync("ch", "g", ids[9]);
        var m10 = await Mq.ConsumeAsync("ch", "g", 1);

        Assert.Equal(["m50"], Texts(m50));
        Assert.Equal(["m51"], Texts(m51));
        Assert.Equal(["m10"], Texts(m10));
        Assert.Equal(ids[9], m10[0].MsgId);
    }

    [Fact]
    public async Task ElevenGroupsEachReadAllTenMessagesInOrder()
    {
        await Mq.CreateChannelAsync("ch");
        var ids = await Mq.ProduceAsync("ch", Payloads([.. Enumerable.Range(0, 10).Select(i => $"m{i}")]));
        var groups = Enumerable.Range(0, 11).Select(i => $"g{i}").ToList();
        foreach (var group in groups)
        {
            await Mq.CreateConsumerGroupAsync("ch", group, MqStartPosition.Earliest);
        }

        foreach (var group in groups)
        {
            var read = new List<MqMessage>();
            for (var batch = await Mq.ConsumeAsync("ch", group, 3); batch.Count > 0; batch = await Mq.ConsumeAsync("ch", group, 3))
            {
                read.AddRange(batch);
            }
            Assert.Equal(ids, read.Select(m => m.MsgId));
            Assert.Equal(Enumerable.Range(0, 10).Select(i => $"m{i}"), Texts(read));
        }
    }

    [Fact]
    public async Task AfterASeekToLatestOnlyNewMessagesAreConsumed()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.ProduceAsync("ch", Payloads("old1", "old2"));
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);

        await Mq.SeekToAsync("ch", "g", MqStartPosition.Latest);
        var none = await Mq.ConsumeAsync("ch", "g", 10);
        await Mq.ProduceAsync("ch", Payloads("new"));
        var fresh = await Mq.ConsumeAsync("ch", "g", 10);

        Assert.Empty(none);
        Assert.Equal(["new"], Texts(fresh));
    }

    [Fact]
    public async Task AGroupCreatedAtLatestSkipsEarlierMessagesAndSeekToEarliestReadsThem()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.ProduceAsync("ch", Payloads("old"));
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Latest);

        var none = await Mq.ConsumeAsync("ch", "g", 10);
        await Mq.SeekToAsync("ch", "g", MqStartPosition.Earliest);
        var all = await Mq.ConsumeAsync("ch", "g", 10);

        Assert.Empty(none);
        Assert.Equal(["old"], Texts(all));
    }

    [Fact]
    public async Task EmptyPayloadsRoundTrip()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.ProduceAsync("ch", [ReadOnlyMemory<byte>.Empty, new byte[] { 0 }, Array.Empty<byte>()]);
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);

        var read = await Mq.ConsumeAsync("ch", "g", 10);

        Assert.Equal(3, read.Count);
        Assert.Empty(read[0].Payload.ToArray());
        Assert.Equal([0], read[1].Payload.ToArray());
        Assert.Empty(read[2].Payload.ToArray());
    }

    [Fact]
    public async Task SeekingToAnIdThatIsNotStoredIsAnErrorAndLeavesThePosition()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.CreateChannelAsync("other");
        var ids = await Mq.ProduceAsync("ch", Payloads("a", "b"));
        var foreign = await Mq.ProduceAsync("other", Payloads("x"));
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        await Mq.ConsumeAsync("ch", "g", 1);

        foreach (var unknown in new[] { foreign[0], ids[1] + 1_000, 0, -5 })
        {
            var error = await Assert.ThrowsAsync<MqMsgIdNotFoundException>(() => Mq.SeekAsync("ch", "g", unknown));
            Assert.Equal(ErrorKind.NotFound, error.Kind);
        }
        Assert.Equal(["b"], Texts(await Mq.ConsumeAsync("ch", "g", 10)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("with space")]
    [InlineData("ünïcode")]
    public async Task InvalidChannelAndGroupNamesAreRejected(string name)
    {
        await Mq.CreateChannelAsync("ch");

        var channel = await Assert.ThrowsAsync<MqInvalidNameException>(() => Mq.CreateChannelAsync(name));
        var group = await Assert.ThrowsAsync<MqInvalidNameException>(() => Mq.CreateConsumerGroupAsync("ch", name, MqStartPosition.Earliest));

        Assert.Equal(ErrorKind.Invalid, channel.Kind);
        Assert.Equal(ErrorKind.Invalid, group.Kind);
        Assert.Equal(["ch"], await Mq.ListChannelsAsync());
    }

    [Fact]
    public async Task ANameOf255AllowedCharactersIsValidAndOf256IsNot()
    {
        var longest = new string('a', 254) + ".";

        await Mq.CreateChannelAsync(longest);

        await Assert.ThrowsAsync<MqInvalidNameException>(() => Mq.CreateChannelAsync(longest + "b"));
        Assert.True(await Mq.ChannelExistsAsync(longest));
    }

    [Fact]
    public async Task UnknownChannelsAndGroupsAreNotFoundAndExistingOnesConflict()
    {
        await Mq.CreateChannelAsync("ch");

        await Assert.ThrowsAsync<MqChannelExistsException>(() => Mq.CreateChannelAsync("ch"));
        await Assert.ThrowsAsync<MqChannelNotFoundException>(() => Mq.ProduceAsync("nope", Payloads("x")));
        await Assert.ThrowsAsync<MqChannelNotFoundException>(() => Mq.CreateConsumerGroupAsync("nope", "g", MqStartPosition.Earliest));
        await Assert.ThrowsAsync<MqGroupNotFoundException>(() => Mq.ConsumeAsync("ch", "nope", 1));
        await Assert.ThrowsAsync<MqGroupNotFoundException>(() => Mq.SeekToAsync("ch", "nope", MqStartPosition.Latest));
        await Assert.ThrowsAsync<MqGroupNotFoundException>(() => Mq.DestroyConsumerGroupAsync("ch", "nope"));
        await Assert.ThrowsAsync<MqInvalidArgumentException>(() => Mq.ProduceAsync("ch", []));
        Assert.False(await Mq.ConsumerGroupExistsAsync("ch", "nope"));
        Assert.Null(await Mq.GetLatestMsgIdAsync("ch"));
    }

    [Fact]
    public async Task ADestroyedGroupIsGoneAndCanBeCreatedAgainFromTheStart()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.ProduceAsync("ch", Payloads("a", "b"));
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        await Mq.ConsumeAsync("ch", "g", 2);

        await Mq.DestroyConsumerGroupAsync("ch", "g");
        var existed = await Mq.ConsumerGroupExistsAsync("ch", "g");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);

        Assert.False(existed);
        Assert.Equal(["a", "b"], Texts(await Mq.ConsumeAsync("ch", "g", 10)));
    }

    [Fact]
    public async Task MessagesAndGroupPositionsSurviveARestart()
    {
        await Mq.CreateChannelAsync("ch");
        var ids = await Mq.ProduceAsync("ch", Payloads("a", "b", "c", "d"));
        await Mq.CreateConsumerGroupAsync("ch", "g1", MqStartPosition.Earliest);
        await Mq.CreateConsumerGroupAsync("ch", "g2", MqStartPosition.Earliest);
        await Mq.ConsumeAsync("ch", "g1", 3);
        await Mq.ConsumeAsync("ch", "g2", 1);

        await _backend.RestartAsync();
        var more = await Mq.ProduceAsync("ch", Payloads("e"));

        Assert.Equal(["ch"], await Mq.ListChannelsAsync());
        Assert.True(more[0] > ids[^1]);
        Assert.Equal(["d", "e"], Texts(await Mq.ConsumeAsync("ch", "g1", 10)));
        Assert.Equal(["b", "c", "d", "e"], Texts(await Mq.ConsumeAsync("ch", "g2", 10)));
        Assert.Equal(more[0], await Mq.GetLatestMsgIdAsync("ch"));
    }

    [Fact]
    public async Task ARecreatedChannelStartsEmpty()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.ProduceAsync("ch", Payloads("old"));
        await Mq.DestroyChannelsAsync(["ch"]);

        await Mq.CreateChannelAsync("ch");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        await _backend.RestartAsync();

        Assert.Empty(await Mq.ConsumeAsync("ch", "g", 10));
        Assert.Null(await Mq.GetLatestMsgIdAsync("ch"));
    }

    [Fact]
    public async Task DestroyingSeveralChannelsWithAnUnknownOneDestroysNothing()
    {
        await Mq.CreateChannelAsync("x");
        await Mq.CreateChannelAsync("y");
        await Mq.ProduceAsync("x", Payloads("kept"));

        await Assert.ThrowsAsync<MqChannelNotFoundException>(() => Mq.DestroyChannelsAsync(["x", "unknown", "y"]));

        Assert.Equal(["x", "y"], await Mq.ListChannelsAsync());
        await Mq.CreateConsumerGroupAsync("x", "g", MqStartPosition.Earliest);
        Assert.Equal(["kept"], Texts(await Mq.ConsumeAsync("x", "g", 10)));
        await Mq.DestroyChannelsAsync(["x", "y"]);
        Assert.Empty(await Mq.ListChannelsAsync());
    }

    [Fact]
    public async Task AWaitingConsumerWakesAsSoonAsAMessageIsProduced()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);

        for (var round = 0; round < 200; round++)
        {
            var waiting = Mq.ConsumeAsync("ch", "g", 1, TimeSpan.FromMinutes(10));
            var producing = Task.Run(() => Mq.ProduceAsync("ch", Payloads($"r{round}")));

            var got = await waiting.WaitAsync(Patience);
            await producing;
            Assert.Equal([$"r{round}"], Texts(got));
        }
    }

    [Fact]
    public async Task AWaitingConsumerGetsAnEmptyListWhenItsWaitRunsOut()
    {
        var time = new FakeTimeProvider();
        await using var host = await StartAsync(time);
        await host.Mq.CreateChannelAsync("ch");
        await host.Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);

        var waiting = host.Mq.ConsumeAsync("ch", "g", 1, TimeSpan.FromSeconds(5));
        time.Advance(TimeSpan.FromSeconds(4));
        var stillWaiting = !waiting.IsCompleted;
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(stillWaiting);
        Assert.Empty(await waiting.WaitAsync(Patience));
    }

    [Fact]
    public async Task DestroyingAChannelWakesItsWaitingConsumerWithNotFound()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);

        var waiting = Mq.ConsumeAsync("ch", "g", 1, TimeSpan.FromMinutes(10));
        await Mq.DestroyChannelsAsync(["ch"]);

        await Assert.ThrowsAsync<MqChannelNotFoundException>(() => waiting.WaitAsync(Patience));
    }

    [Fact]
    public async Task DestroyingAGroupWakesItsWaitingConsumerWithNotFound()
    {
        await Mq.CreateChannelAsync("ch");
        await Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);

        var waiting = Mq.ConsumeAsync("ch", "g", 1, TimeSpan.FromMinutes(10));
        await Mq.DestroyConsumerGroupAsync("ch", "g");

        await Assert.ThrowsAsync<MqGroupNotFoundException>(() => waiting.WaitAsync(Patience));
    }

    [Fact]
    public async Task ConcurrentProducersAndConsumersOnSeveralChannelsSeeEveryMessageOnceAndInOrder()
    {
        const int channels = 4;
        const int producersPerChannel = 3;
        const int batchesPerProducer = 60;
        var names = Enumerable.Range(0, channels).Select(i => $"c{i}").ToList();
        foreach (var name in names)
        {
            await Mq.CreateChannelAsync(name);
            await Mq.CreateConsumerGroupAsync(name, "shared", MqStartPosition.Earliest);
            await Mq.CreateConsumerGroupAsync(name, "solo", MqStartPosition.Earliest);
        }

        var producers = names.SelectMany(name => Enumerable.Range(0, producersPerChannel).Select(p => Task.Run(async () =>
        {
            var sent = 0;
            for (var b = 0; b < batchesPerProducer; b++)
            {
                var size = 1 + (b % 7);
                await Mq.ProduceAsync(name, Payloads([.. Enumerable.Range(sent, size).Select(s => $"{p}:{s}")]));
                sent += size;
            }
            return sent;
        }))).ToList();
        var expectedPerChannel = producersPerChannel * Enumerable.Range(0, batchesPerProducer).Sum(b => 1 + (b % 7));
        var shared = names.SelectMany(name =>
        {
            var consumed = new StrongBox<int>();
            return Enumerable.Range(0, 2).Select(_ => Task.Run(() => Drain(name, "shared", expectedPerChannel, consumed)));
        }).ToList();
        var solo = names.Select(name => Task.Run(() => Drain(name, "solo", expectedPerChannel, new StrongBox<int>()))).ToList();

        await Task.WhenAll(producers).WaitAsync(Patience);
        var sharedReads = await Task.WhenAll(shared).WaitAsync(Patience);
        var soloReads = await Task.WhenAll(solo).WaitAsync(Patience);

        for (var c = 0; c < channels; c++)
        {
            var together = sharedReads[2 * c].Concat(sharedReads[(2 * c) + 1]).ToList();
            Assert.Equal(expectedPerChannel, together.Count);
            Assert.Equal(expectedPerChannel, together.Select(m => m.MsgId).Distinct().Count());
            Assert.All(new[] { sharedReads[2 * c], sharedReads[(2 * c) + 1] }, AssertIncreasing);

            var alone = soloReads[c];
            AssertIncreasing(alone);
            Assert.Equal(together.Select(m => m.MsgId).Order(), alone.Select(m => m.MsgId));
            foreach (var perProducer in Texts(alone).GroupBy(t => t.Split(':')[0]))
            {
                Assert.Equal(Enumerable.Range(0, perProducer.Count()), perProducer.Select(t => int.Parse(t.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture)));
            }
        }
    }

    /// <summary>Consumes until the consumers sharing <paramref name="consumed"/> have read <paramref name="total"/> messages.</summary>
    private async Task<List<MqMessage>> Drain(string channel, string group, int total, StrongBox<int> consumed)
    {
        var read = new List<MqMessage>();
        while (Volatile.Read(ref consumed.Value) < total)
        {
            var batch = await Mq.ConsumeAsync(channel, group, 5, TimeSpan.FromMilliseconds(200));
            read.AddRange(batch);
            Interlocked.Add(ref consumed.Value, batch.Count);
        }
        return read;
    }

    private static void AssertIncreasing(IReadOnlyList<MqMessage> messages)
    {
        for (var i = 1; i < messages.Count; i++)
        {
            Assert.True(messages[i - 1].MsgId < messages[i].MsgId, $"ids out of order at {i}: {messages[i - 1].MsgId} then {messages[i].MsgId}");
        }
    }

    internal static IReadOnlyList<ReadOnlyMemory<byte>> Payloads(params string[] texts) =>
        [.. texts.Select(t => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(t))];

    internal static List<string> Texts(IEnumerable<MqMessage> messages) => [.. messages.Select(m => Encoding.UTF8.GetString(m.Payload.Span))];
}
