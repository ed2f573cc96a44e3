using Milvus.Domain.MsgStream;

namespace Milvus.Tests.MsgStream;

public sealed class MessageCodecTests
{
    private readonly UnmarshalDispatcher _dispatcher = new();

    [Fact]
    public void AnInsertRoundTripsWithEveryRowAndItsOwnKey()
    {
        var insert = new InsertMsg
        {
            Id = 7,
            BeginTs = 100,
            EndTs = 105,
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            CollectionName = "books",
            PartitionName = "_default",
            SegmentId = 42,
            Rows = [new(1, 101, 3, new byte[] { 1, 2 }), new(2, 105, 8, Array.Empty<byte>())],
        };

        var read = Assert.IsType<InsertMsg>(_dispatcher.Unmarshal(insert.Marshal(), MsgType.Insert));

        Assert.Equal((7L, 100UL, 105UL), (read.Id, read.BeginTs, read.EndTs));
        Assert.Equal(insert.TraceParent, read.TraceParent);
        Assert.Equal(("books", "_default", 42L), (read.CollectionName, read.PartitionName, read.SegmentId));
        Assert.Equal([3u, 8u], read.HashKeys);
        Assert.Equal([1L, 2L], read.Rows.Select(r => r.RowId));
        Assert.Equal(new byte[] { 1, 2 }, read.Rows[0].Data.ToArray());
        Assert.True(read.Rows[1].Data.IsEmpty);
    }

    [Fact]
    public void AnInsertReadFromRetainedBytesDecodesItsBodyOnFirstAccessWithTheSameContent()
    {
        var insert = new InsertMsg
        {
            Id = 9,
            EndTs = 12,
            CollectionName = "books",
            SegmentId = 4,
            Rows = [new(1, 12, 5, new byte[] { 7, 8 }), new(2, 12, 6, new byte[] { 9 })],
        };
        var wire = insert.Marshal();

        var read = Assert.IsType<InsertMsg>(_dispatcher.Unmarshal(wire.AsMemory()));

        Assert.Equal((9L, 12UL), (read.Id, read.EndTs));
        Assert.Equal(("books", 4L), (read.CollectionName, read.SegmentId));
        Assert.Equal([5u, 6u], read.HashKeys);
        Assert.Equal(new byte[] { 9 }, read.Rows[1].Data.ToArray());
        Assert.Equal(wire, read.Marshal());
    }

    [Fact]
    public void ACorruptBodyReadFromRetainedBytesFailsClearlyWhenItsRowsAreRead()
    {
        var wire = new InsertMsg { Id = 3, EndTs = 4, Rows = [new(1, 4, 0, new byte[] { 1, 2, 3 })] }.Marshal();
        // The body's first inner field: its tag byte becomes an invalid wire type (7), which the header reader skips
        // over as part of the opaque body, but a body reader must refuse.
        var bodyStart = Array.IndexOf(wire, (byte)0x5A) + 2;
        wire[bodyStart] = 0x0F;

        var read = Assert.IsType<InsertMsg>(_dispatcher.Unmarshal(wire.AsMemory()));
        var error = Assert.Throws<MsgUnmarshalException>(() => read.Rows);

        Assert.Equal(3, read.Id);
        Assert.Contains("Insert message 3", error.Message);
        Assert.Throws<MsgUnmarshalException>(() => _dispatcher.Unmarshal(wire));
    }

    [Fact]
    public void ARowsMessageWhoseRowsAreReplacedBeforeTheyAreDecodedKeepsTheNewRows()
    {
        var wire = new DeleteMsg { Id = 1, EndTs = 2, CollectionName = "c", Rows = [new(new byte[] { 1 }, 2, 3)] }.Marshal();
        var read = Assert.IsType<DeleteMsg>(_dispatcher.Unmarshal(wire.AsMemory()));

        read.Rows = [new(new byte[] { 5 }, 2, 9)];

        Assert.Equal("c", read.CollectionName);
        Assert.Equal([9u], read.HashKeys);
    }

    [Fact]
    public void EveryBuiltInTypeRoundTripsToItsOwnClass()
    {
        TsMsg[] msgs =
        [
            new DeleteMsg { CollectionName = "c", Rows = [new(new byte[] { 9 }, 5, 2)] },
            TimeTickMsg.At(77, sourceId: 3),
            new FlushMsg { CollectionName = "c", SegmentIds = [1, 2] },
            new CreateCollectionMsg { CollectionName = "c", CollectionId = 11, Schema = new byte[] { 1 } },
            new DropCollectionMsg { CollectionName = "c", CollectionId = 11 },
            new CreatePartitionMsg { CollectionName = "c", PartitionName = "p", PartitionId = 5 },
            new DropPartitionMsg { CollectionName = "c", PartitionName = "p" },
            new PayloadMsg(MsgType.Search) { Payload = new byte[] { 4, 5, 6 }, HashKeys = [1, 2] },
        ];

        foreach (var msg in msgs)
        {
            var read = _dispatcher.Unmarshal(msg.Marshal());
            Assert.Equal(msg.GetType(), read.GetType());
            Assert.Equal(msg.Type, read.Type);
            Assert.Equal(msg.HashKeys, read.HashKeys);
            Assert.Equal(msg.Marshal(), read.Marshal());
        }
        var tick = Assert.IsType<TimeTickMsg>(_dispatcher.Unmarshal(TimeTickMsg.At(77, 3).Marshal()));
        Assert.Equal((77UL, 77UL, 3L), (tick.BeginTs, tick.EndTs, tick.SourceId));
    }

    [Fact]
    public void MsgTypeCarriesTheSeedNumbers()
    {
        Assert.Equal(100u, (uint)MsgType.CreateCollection);
        Assert.Equal(206u, (uint)MsgType.ReleasePartitions);
        Assert.Equal(251u, (uint)MsgType.DescribeSegment);
        Assert.Equal(402u, (uint)MsgType.Flush);
        Assert.Equal(600u, (uint)MsgType.SegmentInfo);
        Assert.Equal(1200u, (uint)MsgType.TimeTick);
        Assert.Equal(1207u, (uint)MsgType.SegmentFlushDone);
        Assert.Equal(38, Enum.GetValues<MsgType>().Length);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF })]
    [InlineData(new byte[] { 0x0A, 0x05, 0x01 })]
    [InlineData(new byte[] { })]
    public void GarbageBytesAreAClearErrorNotACrash(byte[] garbage)
    {
        var error = Assert.Throws<MsgUnmarshalException>(() => _dispatcher.Unmarshal(garbage));

        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.Equal(Milvus.Domain.ErrorKind.Invalid, error.Kind);
    }

    [Fact]
    public void AnUnknownTypeOrAMismatchedTypeIsAClearError()
    {
        var unknown = new PayloadMsg((MsgType)9999).Marshal();
        Assert.Contains("9999", Assert.Throws<MsgUnmarshalException>(() => _dispatcher.Unmarshal(unknown)).Message, StringComparison.Ordinal);

        var tick = TimeTickMsg.At(1).Marshal();
        Assert.Contains("Insert", Assert.Throws<MsgUnmarshalException>(() => _dispatcher.Unmarshal(tick, MsgType.Insert)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ATemplateAddedForAType()
    {
        _dispatcher.AddMsgTemplate((MsgType)9999, raw => new PayloadMsg(raw.Type) { Id = raw.Id * 2, Payload = raw.Payload });

        var read = Assert.IsType<PayloadMsg>(_dispatcher.Unmarshal(new PayloadMsg((MsgType)9999) { Id = 21, Payload = new byte[] { 1 } }.Marshal()));

        Assert.Equal(42, read.Id);
        Assert.Equal(new byte[] { 1 }, read.Payload.ToArray());
    }

    // A version-1 Insert as written before the decode/encode path was tuned: it must stay readable, and the
    // writer must still produce exactly these bytes.
    private static readonly byte[] InsertV1 =
    [
        0x08, 0x01, 0x10, 0x90, 0x03, 0x18, 0x07, 0x20, 0x64, 0x28, 0x69, 0x5A, 0x0F, 0x0A, 0x01, 0x63,
        0x22, 0x0A, 0x08, 0x01, 0x10, 0x65, 0x18, 0x03, 0x22, 0x02, 0x01, 0x02,
    ];

    [Fact]
    public void AVersionOneInsertWrittenEarlierStaysReadableAndIsWrittenTheSameWay()
    {
        var read = Assert.IsType<InsertMsg>(_dispatcher.Unmarshal(InsertV1));

        Assert.Equal((7L, 100UL, 105UL, "c"), (read.Id, read.BeginTs, read.EndTs, read.CollectionName));
        var row = Assert.Single(read.Rows);
        Assert.Equal((1L, 101UL, 3u), (row.RowId, row.Timestamp, row.HashKey));
        Assert.Equal(new byte[] { 1, 2 }, row.Data.ToArray());
        Assert.Equal(InsertV1, read.Marshal());
    }

    [Fact]
    public void MarshalledBytesDoNotChangeWhenTheMessageDataChangesAfterwards()
    {
        var data = new byte[] { 1, 2 };
        var schema = new byte[] { 3 };
        var payload = new byte[] { 4 };
        var insert = new InsertMsg { Id = 7, BeginTs = 100, EndTs = 105, CollectionName = "c", Rows = [new(1, 101, 3, data)] };
        var create = new CreateCollectionMsg { CollectionName = "c", Schema = schema };
        var other = new PayloadMsg(MsgType.Search) { Payload = payload, HashKeys = [1] };
        var before = (insert.Marshal(), create.Marshal(), other.Marshal());

        data[0] = 9;
        schema[0] = 9;
        payload[0] = 9;

        Assert.Equal(InsertV1, before.Item1);
        Assert.Equal(new byte[] { 3 }, Assert.IsType<CreateCollectionMsg>(_dispatcher.Unmarshal(before.Item2)).Schema.ToArray());
        Assert.Equal(new byte[] { 4 }, Assert.IsType<PayloadMsg>(_dispatcher.Unmarshal(before.Item3)).Payload.ToArray());
    }
}
