namespace Milvus.Domain.Tso;

/// <summary>
/// A hybrid logical clock value (seed A.6.1): <c>physicalMs &lt;&lt; 18 | logical</c>, where the physical part is
/// Unix milliseconds (46 bits) and the logical part (18 bits) orders events within one millisecond.
/// </summary>
public readonly record struct HybridTimestamp(ulong Value) : IComparable<HybridTimestamp>
{
    /// <summary>The width of the logical part.</summary>
    public const int LogicalBits = 18;

    /// <summary>How many logical values one millisecond holds: 262144.</summary>
    public const long LogicalRange = 1L << LogicalBits;

    /// <summary>The largest physical part that fits: 46 bits of milliseconds.</summary>
    public const long MaxPhysicalMs = (1L << (64 - LogicalBits)) - 1;

    private const ulong LogicalMask = LogicalRange - 1;

    /// <summary>The physical part, in Unix milliseconds.</summary>
    public long PhysicalMs => (long)(Value >> LogicalBits);

    /// <summary>The logical part, 0 to 262143.</summary>
    public long Logical => (long)(Value & LogicalMask);

    /// <summary>The physical part as a wall-clock instant.</summary>
    public DateTimeOffset WallTime => DateTimeOffset.FromUnixTimeMilliseconds(PhysicalMs);

    /// <summary>Joins a physical and a logical part.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A part does not fit its bits.</exception>
    public static HybridTimestamp Compose(long physicalMs, long logical)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(physicalMs);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(physicalMs, MaxPhysicalMs);
        ArgumentOutOfRangeException.ThrowIfNegative(logical);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(logical, LogicalRange);
        return new HybridTimestamp(((ulong)physicalMs << LogicalBits) | (ulong)logical);
    }

    /// <summary>Splits <paramref name="value"/> into its physical and logical parts.</summary>
    public static (long PhysicalMs, long Logical) Parse(ulong value)
    {
        var ts = new HybridTimestamp(value);
        return (ts.PhysicalMs, ts.Logical);
    }

    /// <summary>The timestamp of a wall-clock instant, with the given logical part.</summary>
    public static HybridTimestamp FromWallTime(DateTimeOffset wallTime, long logical = 0) =>
        Compose(wallTime.ToUnixTimeMilliseconds(), logical);

    /// <summary>This timestamp moved by <paramref name="milliseconds"/> of physical time; the logical part is kept.</summary>
    public HybridTimestamp AddPhysicalMs(long milliseconds) => Compose(PhysicalMs + milliseconds, Logical);

    public int CompareTo(HybridTimestamp other) => Value.CompareTo(other.Value);

    public static bool operator <(HybridTimestamp left, HybridTimestamp right) => left.Value < right.Value;

    public static bool operator >(HybridTimestamp left, HybridTimestamp right) => left.Value > right.Value;

    public static bool operator <=(HybridTimestamp left, HybridTimestamp right) => left.Value <= right.Value;

    public static bool operator >=(HybridTimestamp left, HybridTimestamp right) => left.Value >= right.Value;

    public override string ToString() => $"{Value} ({PhysicalMs}.{Logical})";
}
