namespace Milvus.Domain.Tso;

/// <summary>The timestamp oracle and the global id allocator (section <c>Milvus:Tso</c>).</summary>
public sealed class TsoOptions
{
    public const string SectionName = "Milvus:Tso";

    /// <summary>How often the updater moves the physical part to the wall clock, in milliseconds.</summary>
    public int UpdateIntervalMs { get; set; } = 50;

    /// <summary>How far ahead of the physical part the saved window reaches, in milliseconds.</summary>
    public int SaveIntervalMs { get; set; } = 3000;

    /// <summary>How far ahead of the wall clock ResetUserTimestamp may move the clock, in seconds.</summary>
    public int MaxResetGapSeconds { get; set; } = 24 * 3600;

    /// <summary>How many updates a request waits for when the logical part is exhausted, before it fails.</summary>
    public int MaxOverflowWaits { get; set; } = 10;

    /// <summary>Why the options are invalid, or null when they are valid.</summary>
    public string? Validate() =>
        UpdateIntervalMs is < 1 or > 10_000 ? "Milvus:Tso:UpdateIntervalMs must be between 1 and 10000."
        : SaveIntervalMs < 3 * UpdateIntervalMs || SaveIntervalMs > 3_600_000 ? "Milvus:Tso:SaveIntervalMs must be at least three update intervals and at most 3600000."
        : MaxResetGapSeconds < 1 ? "Milvus:Tso:MaxResetGapSeconds must be positive."
        : MaxOverflowWaits is < 1 or > 1000 ? "Milvus:Tso:MaxOverflowWaits must be between 1 and 1000."
        : null;
}
