namespace Milvus.Domain.Components;

/// <summary>
/// The gateway's statistics (section <c>Milvus:Statistics</c>): every <see cref="IntervalMs"/> each gateway writes
/// a snapshot of its components and process into <see cref="Channel"/>, the channel that every component's
/// <see cref="IComponent.GetStatisticsChannelAsync"/> names.
/// </summary>
public sealed class StatisticsOptions
{
    public const string SectionName = "Milvus:Statistics";

    /// <summary>The statistics channel when none is configured.</summary>
    public const string DefaultChannel = "gateway-statistics";

    /// <summary>The statistics channel, shared by every gateway of the cluster.</summary>
    public string Channel { get; set; } = DefaultChannel;

    /// <summary>How often a gateway publishes its statistics, in milliseconds; 0 publishes nothing.</summary>
    public int IntervalMs { get; set; } = 10_000;

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => IntervalMs is >= 0 and <= 3_600_000 && Mq.MqNames.IsValid(Channel)
        ? null
        : "Milvus:Statistics:IntervalMs must be between 0 (off) and 3600000, and Milvus:Statistics:Channel a valid channel name.";
}
