namespace Milvus.Workers.Jobs;

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
