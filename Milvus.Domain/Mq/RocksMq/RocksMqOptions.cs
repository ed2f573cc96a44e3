namespace Milvus.Domain.Mq.RocksMq;

/// <summary>
/// RocksMQ settings (section <c>Milvus:RocksMq</c>; the YAML keys <c>rocksmq.*</c> are the same settings).
/// </summary>
public sealed class RocksMqOptions
{
    public const string SectionName = "Milvus:RocksMq";

    /// <summary>
    /// Durability of a produce, a consume's position move and a seek. <c>false</c> (the default): the write is in
    /// RocksDB's write-ahead log, in the operating system's cache, when the call returns, so it survives a crash or
    /// <c>kill -9</c> of the process, but not a power loss or kernel crash. <c>true</c>: the log is also fsynced
    /// before the call returns, so the write survives a power loss too, at the price of one fsync per call.
    /// </summary>
    public bool SyncWrites { get; set; }

    /// <summary>Bytes of messages per retention page; the unit in which retention deletes (default 64 MiB).</summary>
    public long PageSize { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Acknowledged pages older than this are deleted; a negative value turns the time rule off, 0 deletes every
    /// acknowledged page (default 4320 = 3 days).
    /// </summary>
    public long RetentionTimeInMinutes { get; set; } = 4320;

    /// <summary>
    /// The oldest acknowledged pages are deleted while the acknowledged total of a channel is over this size; a
    /// negative value turns the size rule off (default 8192 MiB).
    /// </summary>
    public long RetentionSizeInMB { get; set; } = 8192;

    /// <summary>How often the retention pass runs, in seconds (default 60).</summary>
    public int RetentionIntervalSeconds { get; set; } = 60;

    /// <summary>The longest a consumer may wait for a first message, in milliseconds (default 30000).</summary>
    public int MaxWaitMs { get; set; } = 30_000;

    /// <summary>Whether the settings make sense; the message names the failing key.</summary>
    public string? Validate() => this switch
    {
        { PageSize: < 1 } => "Milvus:RocksMq:PageSize must be at least 1 byte.",
        { RetentionIntervalSeconds: < 1 } => "Milvus:RocksMq:RetentionIntervalSeconds must be at least 1.",
        { MaxWaitMs: < 0 or > 600_000 } => "Milvus:RocksMq:MaxWaitMs must be between 0 and 600000.",
        _ => null,
    };
}
