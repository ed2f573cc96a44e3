using Milvus.Domain.MsgStream;

namespace Milvus.Tests.MsgStream;

public sealed class RepackTests
{
    [Fact]
    public void InsertRowsSplitByTheirOwnKeys()
    {
        var insert = new InsertMsg
        {
            Id = 1,
            BeginTs = 10,
            EndTs = 12,
            Rows = [new(1, 10, 0, new byte[] { 1 }), new(2, 11, 1, new byte[] { 2 }), new(3, 12, 4, new byte[] { 3 })],
        };
        TsMsg[] msgs = [insert];

        var packs = RepackFuncs.Default(msgs, RepackFuncs.ChannelIndices(msgs, channelCount: 3));

        Assert.Equal([0, 1], packs.Keys.Order());
        Assert.Equal([1L], Assert.IsType<InsertMsg>(Assert.Single(packs[0].Msgs)).Rows.Select(r => r.RowId));
        var second = Assert.IsType<InsertMsg>(Assert.Single(packs[1].Msgs));
        Assert.Equal([2L, 3L], second.Rows.Select(r => r.RowId));
        Assert.Equal((1L, 10UL, 12UL), (second.Id, second.BeginTs, second.EndTs));
    }

    [Fact]
    public void OtherMessagesGoToTheChannelOfTheirFirstKeyInOrder()
    {
        TsMsg[] msgs =
        [
            new PayloadMsg(MsgType.Search) { Id = 1, HashKeys = [5] },
            new PayloadMsg(MsgType.Search) { Id = 2, HashKeys = [2, 3] },
            new PayloadMsg(MsgType.Search) { Id = 3, HashKeys = [7] },
            new DeleteMsg { Id = 4, Rows = [new(new byte[] { 1 }, 1, 9)] },
        ];

        var packs = RepackFuncs.Default(msgs, RepackFuncs.ChannelIndices(msgs, channelCount: 2));

        Assert.Equal([1L, 3L, 4L], packs[1].Msgs.Select(m => m.Id));
        Assert.Equal([2L], packs[0].Msgs.Select(m => m.Id));
    }

    [Fact]
    public void AMessageWithoutAKeyCannotBeRouted()
    {
        TsMsg[] msgs = [new PayloadMsg(MsgType.Search)];

        Assert.Throws<ArgumentException>(() => RepackFuncs.Default(msgs, RepackFuncs.ChannelIndices(msgs, 2)));
    }

    [Fact]
    public void BroadcastSendsEveryMessageToEveryChannel()
    {
        TsMsg[] msgs = [TimeTickMsg.At(5), TimeTickMsg.At(6)];

        var packs = RepackFuncs.Broadcast(msgs, 3);

        Assert.Equal(3, packs.Count);
        Assert.All(packs.Values, p => Assert.Equal([5UL, 6UL], p.Msgs.Select(m => m.EndTs)));
    }
}
