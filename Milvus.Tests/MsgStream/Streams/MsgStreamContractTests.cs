using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Milvus.Domain;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Streams;

namespace Milvus.Tests.MsgStream.Streams;

/// <summary>
/// The message-stream contract, over whichever <see cref="IMqClient"/> a subclass starts: every backend runs the
/// same assertions. Channel and subscription names are unique per test, so a shared server is fine.
/// </summary>
public abstract class MsgStreamContractTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly List<IMsgStream> _streams = [];
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..12];

    private IMqClient _mq = null!;
    private MsgStreamFactory _factory = null!;

    /// <summary>Starts the queue the streams run on.</summary>
    protected abstract Task<IMqClient> StartMqAsync();

    /// <summary>Stops the queue after the streams are closed.</summary>
    protected abstract Task StopMqAsync();

    public async Task InitializeAsync()
    {
        _mq = await StartMqAsync();
        _factory = new MsgStreamFactory(_mq, TimeProvider.System, NullLoggerFactory.Instance);
    }

    public async Task DisposeAsync()
    {
        foreach (var stream in _streams)
        {
            await stream.DisposeAsync();
        }
        await StopMqAsync();
    }

    [Fact]
    public async Task TheTimeTickedStreamReleasesMilvusScenarioPacksAndASeekingSubscriptionResumesAtTheThirdPack()
    {
        var channels = Channels(2);
        var producer = await ProducerAsync(channels);
        await producer.BroadcastAsync(Pack(Tick(0)));
        await producer.ProduceAsync(Pack(Data(1, channel: 0), Data(3, channel: 1), Data(19, channel: 0)));
        await producer.BroadcastAsync(Pack(Tick(5)));
        await producer.ProduceAsync(Pack(Data(14, channel: 1), Data(9, channel: 0)));
        await producer.BroadcastAsync(Pack(Tick(11)));
        await producer.ProduceAsync(Pack(Data(12, channel: 0), Data(13, channel: 1)));
        await producer.BroadcastAsync(Pack(Tick(15)));
        await producer.BroadcastAsync(Pack(Tick(20)));

        var consumer = await ConsumerAsync(channels, tt: true);
        consumer.Start();
        var packs = await ConsumePacksAsync(consumer, 4);

        Assert.Equal([(0UL, 5UL), (5UL, 11UL), (11UL, 15UL), (15UL, 20UL)], packs.Select(p => (p.BeginTs, p.EndTs)));
        Assert.Equal([[1UL, 3UL], [9UL], [12UL, 13UL, 14UL], [19UL]], packs.Select(EndTimestamps));
        for (var i = 1; i < packs.Count; i++)
        {
            Assert.Equal(packs[i - 1].EndPositions, packs[i].StartPositions);
        }
        Assert.All(packs, p => Assert.Equal(channels, p.EndPositions.Select(e => e.ChannelName)));

        var resumed = await ConsumerAsync(channels, tt: true, subName: Name("resumed"));
        await resumed.SeekAsync(packs[2].StartPositions);
        resumed.Start();
        var again = await ConsumePacksAsync(resumed, 2);

        Assert.Equal([[12UL, 13UL, 14UL], [19UL]], again.Select(EndTimestamps));
        Assert.Equal([(11UL, 15UL), (15UL, 20UL)], again.Select(p => (p.BeginTs, p.EndTs)));
    }

    [Fact]
    public async Task ASeekAppliesEachChannelsOwnPositionAsMilvusDoes()
    {
        // m1(s1,100), tick 150, m2(s1, 120..250), m6(s1,190), m3(s2,180), tick 200, m4(s1,260), m5(s2,220), tick 300.
        var channels = Channels(2);
        var producer = await ProducerAsync(channels);
        await producer.ProduceAsync(Pack(Data(100, channel: 0, id: 1)));
        await producer.BroadcastAsync(Pack(Tick(150)));
        await producer.ProduceAsync(Pack(Data(250, channel: 0, id: 2, beginTs: 120), Data(190, channel: 0, id: 6), Data(180, channel: 1, id: 3)));
        await producer.BroadcastAsync(Pack(Tick(200)));
        await producer.ProduceAsync(Pack(Data(260, channel: 0, id: 4), Data(220, channel: 1, id: 5)));
        await producer.BroadcastAsync(Pack(Tick(300)));
        var first = await ConsumerAsync(channels, tt: true);
        first.Start();
        var packs = await ConsumePacksAsync(first, 3);

        // s1 at its position after the pack at tick 150, s2 at its position after the pack at tick 200.
        var resumed = await ConsumerAsync(channels, tt: true, subName: Name("per-channel"));
        await resumed.SeekAsync([packs[0].EndPositions[0], packs[1].EndPositions[1]]);
        resumed.Start();
        var again = Assert.Single(await ConsumePacksAsync(resumed, 1));

        Assert.Equal([(0UL, 150UL), (150UL, 200UL), (200UL, 300UL)], packs.Select(p => (p.BeginTs, p.EndTs)));
        Assert.Equal([2L, 6L, 4L, 5L], again.Msgs.Select(m => m.Id));
        Assert.Equal((150UL, 300UL), (again.BeginTs, again.EndTs));
    }

    [Fact]
    public async Task AMessageWrittenTwiceIntoOneTickIsDeliveredOnce()
    {
        var channels = Channels(1);
        var producer = await ProducerAsync(channels);
        await producer.ProduceAsync(Pack(Data(2, channel: 0, id: 7)));
        await producer.ProduceAsync(Pack(Data(2, channel: 0, id: 7), Data(3, channel: 0, id: 8)));
        await producer.BroadcastAsync(Pack(Tick(5)));

        var consumer = await ConsumerAsync(channels, tt: true);
        consumer.Start();
        var pack = Assert.Single(await ConsumePacksAsync(consumer, 1));

        Assert.Equal([7L, 8L], pack.Msgs.Select(m => m.Id));
    }

    [Fact]
    public async Task MessagesLaterThanTheTickWaitForALaterPack()
    {
        var channels = Channels(2);
        var producer = await ProducerAsync(channels);
        await producer.ProduceAsync(Pack(Data(4, channel: 0), Data(8, channel: 1)));
        await producer.BroadcastAsync(Pack(Tick(5)));
        await producer.BroadcastAsync(Pack(Tick(10)));

        var consumer = await ConsumerAsync(channels, tt: true);
        consumer.Start();
        var packs = await ConsumePacksAsync(consumer, 2);

        Assert.Equal([[4UL], [8UL]], packs.Select(EndTimestamps));
        // Channel 1's end position after the first pack points at its unsolved message, at the first pack's tick.
        var held = packs[0].EndPositions[1];
        Assert.Equal((channels[1], 5UL), (held.ChannelName, held.Timestamp));
        Assert.Equal(packs[1].Msgs[0].Position!.MsgId, held.MsgId);
    }

    [Fact]
    public async Task ASubscriptionAtTheLatestPositionSeesOnlyLaterMessages()
    {
        var channels = Channels(2);
        var producer = await ProducerAsync(channels);
        await producer.ProduceAsync(Pack(Data(1, channel: 0), Data(2, channel: 1)));

        var consumer = await ConsumerAsync(channels, tt: false, position: MqStartPosition.Latest);
        consumer.Start();
        await producer.ProduceAsync(Pack(Data(3, channel: 1)));
        var pack = Assert.Single(await ConsumePacksAsync(consumer, 1));

        Assert.Equal([3UL], EndTimestamps(pack));
        Assert.Equal(channels[1], Assert.Single(pack.StartPositions).ChannelName);
    }

    [Fact]
    public async Task TheDefaultRepackSendsEachMessageAndEachInsertRowToTheChannelOfItsKey()
    {
        var channels = Channels(3);
        var producer = await ProducerAsync(channels);
        var msgs = Enumerable.Range(0, 9).Select(k => (TsMsg)new PayloadMsg(MsgType.Search) { Id = k, BeginTs = 1, EndTs = 1, HashKeys = [(uint)k] }).ToList();
        var insert = new InsertMsg
        {
            Id = 100,
            BeginTs = 2,
            EndTs = 2,
            Rows = [new(1, 2, 4, new byte[] { 1 }), new(2, 2, 5, new byte[] { 2 }), new(3, 2, 7, new byte[] { 3 })],
        };

        var positions = await producer.ProduceAsync(MsgPack.Of([.. msgs, insert]));
        var consumer = await ConsumerAsync(channels, tt: false);
        consumer.Start();
        var received = (await ConsumeMsgsAsync(consumer, 11)).ToList();

        Assert.Equal(11, positions.Count);
        Assert.All(received.OfType<PayloadMsg>(), m => Assert.Equal(channels[(int)(m.Id % 3)], m.Position!.ChannelName));
        var rows = received.OfType<InsertMsg>().ToDictionary(m => m.Position!.ChannelName, m => m.Rows.Select(r => r.RowId).ToArray());
        Assert.Equal(new long[] { 1, 3 }, rows[channels[1]]);
        Assert.Equal(new long[] { 2 }, rows[channels[2]]);
        Assert.DoesNotContain(channels[0], rows.Keys);
    }

    [Fact]
    public async Task ACustomRepackFunctionReplacesTheDefault()
    {
        var channels = Channels(2);
        var producer = await ProducerAsync(channels);
        producer.SetRepackFunc((msgs, _) => new Dictionary<int, MsgPack> { [1] = MsgPack.Of(msgs) });

        var positions = await producer.ProduceAsync(Pack(Data(1, channel: 0), Data(2, channel: 0)));

        Assert.All(positions, p => Assert.Equal(channels[1], p.ChannelName));
        Assert.Null(await _mq.GetLatestMsgIdAsync(channels[0]));
        Assert.Equal(positions[^1].MsgId, await _mq.GetLatestMsgIdAsync(channels[1]));
    }

    [Fact]
    public async Task ABroadcastReachesEveryChannel()
    {
        var channels = Channels(3);
        var producer = await ProducerAsync(channels);

        var positions = await producer.BroadcastAsync(Pack(Data(6, channel: 0, id: 42)));
        var consumer = await ConsumerAsync(channels, tt: false);
        consumer.Start();
        var received = await ConsumeMsgsAsync(consumer, 3);

        Assert.Equal(channels, positions.Select(p => p.ChannelName));
        Assert.Equal(channels.Order(), received.Select(m => m.Position!.ChannelName).Order());
        Assert.All(received, m => Assert.Equal(42L, m.Id));
    }

    [Fact]
    public async Task ProducingBeforeAsProducerAndBroadcastingAnEmptyPackAreInvalidWhileAnEmptyProduceDoesNothing()
    {
        var channels = Channels(1);
        var stream = Track(_factory.NewMsgStream());

        var early = await Assert.ThrowsAsync<MsgStreamException>(() => stream.ProduceAsync(Pack(Data(1, channel: 0))));
        await stream.AsProducerAsync(channels);
        var empty = await Assert.ThrowsAsync<MsgStreamException>(() => stream.BroadcastAsync(new MsgPack()));
        var nothing = await stream.ProduceAsync(new MsgPack());

        Assert.Equal(ErrorKind.Invalid, early.Kind);
        Assert.Equal(ErrorKind.Invalid, empty.Kind);
        Assert.Empty(nothing);
        Assert.Null(await _mq.GetLatestMsgIdAsync(channels[0]));
    }

    [Fact]
    public async Task SeekingAPlainStreamResumesAtThePositionInclusively()
    {
        var channels = Channels(1);
        var producer = await ProducerAsync(channels);
        var positions = await producer.ProduceAsync(Pack(Data(1, channel: 0), Data(2, channel: 0), Data(3, channel: 0)));

        var consumer = await ConsumerAsync(channels, tt: false);
        await consumer.SeekAsync([positions[1]]);
        consumer.Start();

        Assert.Equal([2UL, 3UL], (await ConsumeMsgsAsync(consumer, 2)).Select(m => m.EndTs));
    }

    [Fact]
    public async Task AnExistingSubscriptionResumesWhereItStoppedWhateverTheStartPosition()
    {
        var channels = Channels(1);
        var producer = await ProducerAsync(channels);
        await producer.ProduceAsync(Pack(Data(1, channel: 0)));
        var first = await ConsumerAsync(channels, tt: false);
        first.Start();
        Assert.Equal([1UL], (await ConsumeMsgsAsync(first, 1)).Select(m => m.EndTs));
        await first.CloseAsync();

        await producer.ProduceAsync(Pack(Data(2, channel: 0)));
        var second = await ConsumerAsync(channels, tt: false, position: MqStartPosition.Earliest);
        second.Start();

        Assert.Equal([2UL], (await ConsumeMsgsAsync(second, 1)).Select(m => m.EndTs));
    }

    [Fact]
    public async Task SeekingToAChannelTheStreamDoesNotConsumeOrAfterStartIsInvalid()
    {
        var channels = Channels(2);
        var consumer = await ConsumerAsync([channels[0]], tt: true);

        var foreign = await Assert.ThrowsAsync<MsgStreamException>(() => consumer.SeekAsync([new MsgPosition(channels[1], 1, "x", 0)]));
        consumer.Start();
        var late = await Assert.ThrowsAsync<MsgStreamException>(() => consumer.SeekAsync([new MsgPosition(channels[0], 1, "x", 0)]));

        Assert.Contains(channels[1], foreign.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorKind.Invalid, late.Kind);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClosingAStreamEndsAPendingConsumeAndCompletesItsChannel(bool tt)
    {
        var consumer = await ConsumerAsync(Channels(2), tt);
        consumer.Start();
        var pending = consumer.ConsumeAsync();

        Assert.False(pending.IsCompleted);
        await consumer.CloseAsync();

        Assert.Null(await pending.WaitAsync(Patience));
        await consumer.Chan().Completion.WaitAsync(Patience);
        Assert.True(consumer.Chan().Completion.IsCompletedSuccessfully);
        await Assert.ThrowsAsync<MsgStreamException>(() => consumer.AsProducerAsync(Channels(1)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AStreamWhoseReaderTakesNothingReadsOnlyABoundedWayAhead(bool tt)
    {
        // Buffer one pack, read ten messages a time: the stream may hold one pack in its buffer, one that its pump
        // waits to write, one batch in the reader's buffer and one that the reader waits to hand over.
        const int batch = 10;
        var channels = Channels(1);
        await _mq.CreateChannelAsync(channels[0]);
        var msgs = Enumerable.Range(1, 200).Select(i => (TsMsg)Data((ulong)i, channel: 0)).ToList();
        for (var i = 0; i < msgs.Count; i += batch)
        {
            await _mq.ProduceAsync(channels[0], [.. msgs.Skip(i).Take(batch).Append(Tick((ulong)(i + batch))).Select(m => (ReadOnlyMemory<byte>)m.Marshal())]);
        }
        var counting = new CountingMqClient(_mq);
        var factory = new MsgStreamFactory(counting, TimeProvider.System, NullLoggerFactory.Instance, settings: new MsgStreamSettings(BufferSize: 1, ReadBatchSize: batch));
        var consumer = Track(tt ? factory.NewTtMsgStream() : factory.NewMsgStream());
        await consumer.AsConsumerAsync(channels, Name("sub"), MqStartPosition.Earliest);
        consumer.Start();

        var bound = tt ? 5 * batch : 4 * batch;
        await Milvus.Tests.MsgStream.Api.MsgStreamApiClient.WaitUntilAsync(() => counting.Consumed >= 3 * batch, "the stream reads ahead");
        Assert.InRange(counting.Consumed, 3 * batch, bound);

        var first = await consumer.ConsumeAsync(Patience);
        Assert.NotNull(first);
        Assert.InRange(counting.Consumed, 3 * batch, bound + batch);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BytesThatAreNotAMessageAreSkippedAndReportedOnceAndTheStreamGoesOn(bool tt)
    {
        var channels = Channels(1);
        await _mq.CreateChannelAsync(channels[0]);
        var ids = await _mq.ProduceAsync(channels[0], [Data(1, channel: 0).Marshal(), new byte[] { 0xff, 0xff, 0xff }, Data(2, channel: 0).Marshal(), Tick(5).Marshal()]);
        await _mq.ProduceAsync(channels[0], [Data(6, channel: 0).Marshal(), Tick(10).Marshal()]);

        var consumer = await ConsumerAsync(channels, tt);
        consumer.Start();
        var packs = new List<MsgPack>();
        while (packs.SelectMany(p => p.Msgs).Count(m => m is not TimeTickMsg) < 3)
        {
            packs.Add(await consumer.ConsumeAsync(Patience) ?? throw new TimeoutException("The stream stopped after the bad message."));
        }

        Assert.Equal([1UL, 2UL, 6UL], packs.SelectMany(p => p.Msgs).Where(m => m is not TimeTickMsg).Select(m => m.EndTs));
        var skipped = Assert.Single(packs.SelectMany(p => p.Skipped));
        Assert.Equal(channels[0], skipped.ChannelName);
        Assert.Equal(ids[1], skipped.MsgId);
        Assert.False(string.IsNullOrWhiteSpace(skipped.Reason));
        Assert.False(consumer.Chan().Completion.IsCompleted);
    }

    [Fact]
    public async Task AConsumeWithAWaitBoundReturnsNullWhenNothingComes()
    {
        var time = new FakeTimeProvider();
        var consumer = Track(new MsgStreamFactory(_mq, time, NullLoggerFactory.Instance).NewMsgStream());
        await consumer.AsConsumerAsync(Channels(1), Name("sub"), MqStartPosition.Earliest);
        consumer.Start();

        var waiting = consumer.ConsumeAsync(TimeSpan.FromSeconds(5));
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Null(await waiting.WaitAsync(Patience));
    }

    private string[] Channels(int count) => [.. Enumerable.Range(0, count).Select(i => Name($"ch{i}"))];

    private string Name(string suffix) => $"{_prefix}-{suffix}";

    private IMsgStream Track(IMsgStream stream)
    {
        _streams.Add(stream);
        return stream;
    }

    private async Task<IMsgStream> ProducerAsync(string[] channels)
    {
        var stream = Track(_factory.NewMsgStream());
        await stream.AsProducerAsync(channels);
        return stream;
    }

    private async Task<IMsgStream> ConsumerAsync(string[] channels, bool tt, MqStartPosition position = MqStartPosition.Earliest, string? subName = null)
    {
        var stream = Track(tt ? _factory.NewTtMsgStream() : _factory.NewMsgStream());
        await stream.AsConsumerAsync(channels, subName ?? Name("sub"), position);
        return stream;
    }

    private static async Task<List<MsgPack>> ConsumePacksAsync(IMsgStream stream, int count)
    {
        var packs = new List<MsgPack>();
        while (packs.Count < count)
        {
            packs.Add(await stream.ConsumeAsync(Patience) ?? throw new TimeoutException($"Only {packs.Count} of {count} packs came."));
        }
        return packs;
    }

    private static async Task<List<TsMsg>> ConsumeMsgsAsync(IMsgStream stream, int count)
    {
        var msgs = new List<TsMsg>();
        while (msgs.Count < count)
        {
            var pack = await stream.ConsumeAsync(Patience) ?? throw new TimeoutException($"Only {msgs.Count} of {count} messages came.");
            msgs.AddRange(pack.Msgs);
        }
        Assert.Equal(count, msgs.Count);
        return msgs;
    }

    private static ulong[] EndTimestamps(MsgPack pack) => [.. pack.Msgs.Select(m => m.EndTs).Order()];

    private static MsgPack Pack(params TsMsg[] msgs) => MsgPack.Of(msgs);

    private static TimeTickMsg Tick(ulong timestamp) => TimeTickMsg.At(timestamp);

    private static PayloadMsg Data(ulong timestamp, uint channel, long? id = null, ulong? beginTs = null) =>
        new(MsgType.Search) { Id = id ?? (long)timestamp, BeginTs = beginTs ?? timestamp, EndTs = timestamp, HashKeys = [channel] };
}
