namespace Milvus.Domain.Params;

/// <summary>General settings (section <c>Milvus</c>).</summary>
public sealed class MilvusOptions
{
    public const string SectionName = "Milvus";

    /// <summary>Where the embedded backends persist; relative paths are relative to the working directory.</summary>
    public string DataDir { get; set; } = "./data";

    /// <summary>Comma-separated YAML parameter files, lowest first; defaults to <c>configs/milvus.yaml</c>.</summary>
    public string? ConfigFiles { get; set; }

    /// <summary>The data directory as an absolute path.</summary>
    public string DataDirFullPath => Path.GetFullPath(DataDir);

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => string.IsNullOrWhiteSpace(DataDir) ? "Milvus:DataDir must not be empty." : null;
}

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
        _ when !Mq.MqNames.IsValid(SubscriptionName) => "Milvus:Archive:SubscriptionName must be a valid consumer group name.",
        _ => null,
    };
}
