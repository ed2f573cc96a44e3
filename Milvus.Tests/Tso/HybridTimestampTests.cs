using Milvus.Domain.Tso;

namespace Milvus.Tests.Tso;

public sealed class HybridTimestampTests
{
    [Fact]
    public void ComposeShiftsThePhysicalPartAboveEighteenLogicalBits()
    {
        var ts = HybridTimestamp.Compose(1_700_000_000_123, 5);

        Assert.Equal((1_700_000_000_123UL << 18) | 5, ts.Value);
        Assert.Equal(1_700_000_000_123, ts.PhysicalMs);
        Assert.Equal(5, ts.Logical);
        Assert.Equal((1_700_000_000_123L, 5L), HybridTimestamp.Parse(ts.Value));
    }

    [Fact]
    public void WallTimeRoundTripsAtMillisecondPrecision()
    {
        var instant = DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_456);

        var ts = HybridTimestamp.FromWallTime(instant, logical: 7);

        Assert.Equal(instant, ts.WallTime);
        Assert.Equal(7, ts.Logical);
    }

    [Fact]
    public void AddingPhysicalMillisecondsKeepsTheLogicalPart()
    {
        var ts = HybridTimestamp.Compose(1000, 42).AddPhysicalMs(250);

        Assert.Equal(1250, ts.PhysicalMs);
        Assert.Equal(42, ts.Logical);
        Assert.True(ts > HybridTimestamp.Compose(1249, HybridTimestamp.LogicalRange - 1));
    }

    [Theory]
    [InlineData(-1L, 0L)]
    [InlineData(0L, -1L)]
    [InlineData(0L, 262144L)]
    [InlineData(1L << 46, 0L)]
    public void PartsThatDoNotFitTheirBitsAreRejected(long physical, long logical)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => HybridTimestamp.Compose(physical, logical));
    }
}
