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
}

/// <summary>The message queue (section <c>Milvus:Mq</c>).</summary>
public sealed class MqOptions
{
    public const string SectionName = "Milvus:Mq";

    public MqBackend Backend { get; set; } = MqBackend.RocksMq;
}

/// <summary>The message queue backends.</summary>
public enum MqBackend
{
    RocksMq,
    Redis,
}

/// <summary>Service sessions (section <c>Milvus:Session</c>).</summary>
public sealed class ServiceSessionOptions
{
    public const string SectionName = "Milvus:Session";

    /// <summary>The session lease's time to live, in seconds.</summary>
    public int TtlSeconds { get; set; } = 30;

    /// <summary>The address other gateways reach this one at; defaults to the first URL it listens on.</summary>
    public string? Address { get; set; }
}

/// <summary>The gateway's own time tick producer (section <c>Milvus:TimeTick</c>).</summary>
public sealed class TimeTickOptions
{
    public const string SectionName = "Milvus:TimeTick";

    /// <summary>The channel into which the ticker also writes every tick, as a <c>TimeTickProvider</c> does.</summary>
    public const string DefaultChannel = "gateway-timetick";

    public bool Enabled { get; set; } = true;

    public int IntervalMs { get; set; } = 200;

    /// <summary>The time tick channel (<c>Milvus:TimeTick:Channel</c>).</summary>
    public string Channel { get; set; } = DefaultChannel;
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

/// <summary>API keys (section <c>Milvus:Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Milvus:Auth";

    /// <summary>When non-empty, every API call needs one of these keys.</summary>
    public string[] ApiKeys { get; set; } = [];
}

/// <summary>The recurring maintenance jobs (section <c>Milvus:Jobs</c>).</summary>
public sealed class JobsOptions
{
    public const string SectionName = "Milvus:Jobs";

    /// <summary>Where the schedule and locks live: <c>memory</c> (one gateway) or <c>redis</c> (shared by gateways).</summary>
    public JobStorageKind Storage { get; set; } = JobStorageKind.Memory;

    /// <summary>The key prefix of the schedule in Redis.</summary>
    public string RedisPrefix { get; set; } = "milvus:hangfire:";

    /// <summary>How many jobs one gateway runs at once.</summary>
    public int WorkerCount { get; set; } = 2;

    /// <summary>How often the scheduler looks for due jobs, in seconds.</summary>
    public int PollingSeconds { get; set; } = 15;

    /// <summary>How long the snapshot KV keeps old versions: its GC job drops what no read this recent needs.</summary>
    public int SnapshotRetentionMinutes { get; set; } = 24 * 60;

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => this switch
    {
        _ when !Enum.IsDefined(Storage) => "Milvus:Jobs:Storage must be memory or redis.",
        { WorkerCount: < 1 or > 64 } => "Milvus:Jobs:WorkerCount must be between 1 and 64.",
        { PollingSeconds: < 1 or > 3600 } => "Milvus:Jobs:PollingSeconds must be between 1 and 3600.",
        { SnapshotRetentionMinutes: < 1 } => "Milvus:Jobs:SnapshotRetentionMinutes must be at least 1.",
        _ => null,
    };
}

/// <summary>The job storages.</summary>
public enum JobStorageKind
{
    Memory,
    Redis,
}
