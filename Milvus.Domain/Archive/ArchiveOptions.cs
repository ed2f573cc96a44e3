using Milvus.Domain.Mq;

namespace Milvus.Domain.Archive;

/// <summary>The archiving flow graph (section <c>Milvus:Archive</c>).</summary>
public sealed class ArchiveOptions
{
    public const string SectionName = "Milvus:Archive";

    public bool Enabled { get; set; }

    /// <summary>A segment is cut once its encoded msgs reach this many bytes.</summary>
    public long MaxSegmentBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>A segment is cut once its first msg has waited this long (checked at each time tick).</summary>
    public int MaxSegmentMs { get; set; } = 10_000;

    /// <summary>How often the archiver looks for new and destroyed channels, and restarts failed graphs.</summary>
    public int DiscoveryIntervalMs { get; set; } = 1_000;

    /// <summary>The subscription (consumer group) the archiving graphs read with.</summary>
    public string SubscriptionName { get; set; } = "archiver";

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => this switch
    {
        { MaxSegmentBytes: < 1 or > 256L * 1024 * 1024 } => "Milvus:Archive:MaxSegmentBytes must be between 1 and 268435456.",
        { MaxSegmentMs: < 1 } => "Milvus:Archive:MaxSegmentMs must be at least 1.",
        { DiscoveryIntervalMs: < 10 or > 3_600_000 } => "Milvus:Archive:DiscoveryIntervalMs must be between 10 and 3600000.",
        _ when !MqNames.IsValid(SubscriptionName) => "Milvus:Archive:SubscriptionName must be a valid consumer group name.",
        _ => null,
    };
}
