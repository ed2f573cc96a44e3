using Milvus.Domain.MsgStream;

namespace Milvus.Tests.MsgStream;

public sealed class TimeTickAlignerTests
{
    // Milvus's own TtMsgStream scenario: TT0, [1,3,19], TT5, [14,9], TT11, [12,13], TT15, TT20 across two
    // channels, with the data messages spread by key and the ticks broadcast.
    private static readonly List<TsMsg>[] Scenario =
    [
        [Tick(0), Data(1), Data(19), Tick(5), Data(9), Tick(11), Data(12), Tick(15), Tick(20)],
        [Tick(0), Data(3), Tick(5), Data(14), Tick(11), Data(13), Tick(15), Tick(20)],
    ];

    [Fact]
    public void PacksHoldExactlyTheMessagesBetweenTwoTicks()
    {
        var packs = Drive(new TimeTickAligner(["ch0", "ch1"], "sub"), Scenario, [0, 0]);

        Assert.Equal([(0UL, 5UL), (5UL, 11UL), (11UL, 15UL), (15UL, 20UL)], packs.Select(p => (p.BeginTs, p.EndTs)));
        Assert.Equal([[1UL, 3UL], [9UL], [12UL, 13UL, 14UL], [19UL]], packs.Select(p => p.Msgs.Select(m => m.EndTs).Order().ToArray()));
        Assert.All(packs, p => Assert.All(p.Msgs, m => Assert.InRange(m.EndTs, p.BeginTs + 1, p.EndTs)));
    }

    [Fact]
    public void ANewSubscriptionSeekingToAPacksStartPositionsResumesExactlyThere()
    {
        var first = Drive(new TimeTickAligner(["ch0", "ch1"], "sub"), Scenario, [0, 0]);
        var third = first[2];

        var resumed = new TimeTickAligner(["ch0", "ch1"], "sub2");
        resumed.Seek(third.StartPositions);
        var packs = Drive(resumed, Scenario, third.StartPositions.Select(p => (int)p.MsgId).ToArray());

        Assert.Equal([[12UL, 13UL, 14UL], [19UL]], packs.Select(p => p.Msgs.Select(m => m.EndTs).Order().ToArray()));
        Assert.Equal((11UL, 15UL), (packs[0].BeginTs, packs[0].EndTs));
    }

    [Fact]
    public void ASeekKeepsEachChannelsMsgsAboveItsOwnPositionIncludingOneThatStraddlesIt()
    {
        List<TsMsg>[] channels =
        [
            [Data(100, id: 1), Tick(150), Data(250, id: 2, beginTs: 120), Data(190, id: 6), Tick(200), Data(260, id: 4), Tick(300)],
            [Tick(150), Data(180, id: 3), Tick(200), Data(220, id: 5), Tick(300)],
        ];
        var resumed = new TimeTickAligner(["ch0", "ch1"], "sub");

        // Channel 0 at its tick 150 (index 1), channel 1 at its tick 200 (index 2).
        resumed.Seek([new MsgPosition("ch0", 1, "sub", 150), new MsgPosition("ch1", 2, "sub", 200)]);
        var pack = Assert.Single(Drive(resumed, channels, [1, 2]));

        Assert.Equal([2L, 6L, 4L, 5L], pack.Msgs.Select(m => m.Id));
        Assert.Equal((150UL, 300UL), (pack.BeginTs, pack.EndTs));
    }

    [Fact]
    public void StartPositionsAreThePreviousEndPositions()
    {
        var packs = Drive(new TimeTickAligner(["ch0", "ch1"], "sub"), Scenario, [0, 0]);

        for (var i = 1; i < packs.Count; i++)
        {
            Assert.Equal(packs[i - 1].EndPositions, packs[i].StartPositions);
        }
        // After (5, 11] channel 0 still holds 19 and channel 1 holds 14: the end positions point at them.
        Assert.Equal([2L, 3L], packs[1].EndPositions.Select(p => p.MsgId));
        Assert.All(packs[1].EndPositions, p => Assert.Equal(11UL, p.Timestamp));
    }

    [Fact]
    public void AMessageReadTwiceOnAChannelIsDeliveredOnce()
    {
        List<TsMsg>[] channels = [[Data(2, id: 7), Data(2, id: 7), Data(3, id: 8), Tick(5)]];

        var packs = Drive(new TimeTickAligner(["ch0"], "sub"), channels, [0]);

        Assert.Equal([7L, 8L], Assert.Single(packs).Msgs.Select(m => m.Id));
    }

    [Fact]
    public void NoPackIsReleasedUntilEveryChannelReachesTheSameTick()
    {
        var aligner = new TimeTickAligner(["ch0", "ch1"], "sub");
        aligner.Offer(0, Data(2), new MsgPosition("ch0", 0, "sub", 0));
        aligner.Offer(0, Tick(5), new MsgPosition("ch0", 1, "sub", 0));

        Assert.False(aligner.TryCut(out _));
        Assert.False(aligner.NeedsMore(0));
        Assert.True(aligner.NeedsMore(1));

        aligner.Offer(1, Tick(5), new MsgPosition("ch1", 0, "sub", 0));
        Assert.True(aligner.TryCut(out var pack));
        Assert.Equal([2UL], pack.Msgs.Select(m => m.EndTs));
    }

    /// <summary>Reads each channel from its start index as the aligner asks, and collects every pack.</summary>
    private static List<MsgPack> Drive(TimeTickAligner aligner, List<TsMsg>[] channels, int[] starts)
    {
        var cursors = starts.ToArray();
        var packs = new List<MsgPack>();
        var progressed = true;
        while (progressed)
        {
            progressed = false;
            for (var c = 0; c < channels.Length; c++)
            {
                if (aligner.NeedsMore(c) && cursors[c] < channels[c].Count)
                {
                    var msg = Copy(channels[c][cursors[c]]);
                    aligner.Offer(c, msg, new MsgPosition($"ch{c}", cursors[c], aligner.Group, msg.EndTs));
                    cursors[c]++;
                    progressed = true;
                }
            }
            while (aligner.TryCut(out var pack))
            {
                packs.Add(pack);
                progressed = true;
            }
        }
        return packs;
    }

    private static TsMsg Copy(TsMsg msg) => new UnmarshalDispatcher().Unmarshal(msg.Marshal());

    private static TimeTickMsg Tick(ulong ts) => TimeTickMsg.At(ts);

    private static PayloadMsg Data(ulong ts, long? id = null, ulong? beginTs = null) =>
        new(MsgType.Search) { Id = id ?? (long)ts, BeginTs = beginTs ?? ts, EndTs = ts, HashKeys = [0] };
}
