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

/// <summary>The meta key-value store (section <c>Milvus:Kv</c>).</summary>
public sealed class KvOptions
{
    public const string SectionName = "Milvus:Kv";

    public KvBackend Backend { get; set; } = KvBackend.RocksDb;
}

/// <summary>The meta key-value backends.</summary>
public enum KvBackend
{
    RocksDb,
    Memory,
    Etcd,
    Redis,
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

/// <summary>The object store (section <c>Milvus:ObjectStorage</c>).</summary>
public sealed class ObjectStorageOptions
{
    public const string SectionName = "Milvus:ObjectStorage";

    public ObjectStorageBackend Backend { get; set; } = ObjectStorageBackend.Local;
}

/// <summary>The object store backends.</summary>
public enum ObjectStorageBackend
{
    Local,
    Minio,
}

/// <summary>etcd (section <c>Milvus:Etcd</c>).</summary>
public sealed class EtcdOptions
{
    public const string SectionName = "Milvus:Etcd";

    /// <summary>Comma-separated etcd URLs.</summary>
    public string Endpoints { get; set; } = "http://127.0.0.1:2379";

    /// <summary>Every meta key lives under this prefix.</summary>
    public string RootPath { get; set; } = "by-dev";
}

/// <summary>Redis (section <c>Milvus:Redis</c>).</summary>
public sealed class RedisOptions
{
    public const string SectionName = "Milvus:Redis";

    /// <summary>A StackExchange.Redis configuration string.</summary>
    public string Configuration { get; set; } = "127.0.0.1:6379";
}

/// <summary>The S3-compatible object store (section <c>Milvus:Minio</c>).</summary>
public sealed class MinioOptions
{
    public const string SectionName = "Milvus:Minio";

    public string Endpoint { get; set; } = "127.0.0.1:9000";

    public string AccessKey { get; set; } = "minioadmin";

    public string SecretKey { get; set; } = "minioadmin";

    public string Bucket { get; set; } = "milvus-bucket";

    public bool UseSsl { get; set; }
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
}

/// <summary>API keys (section <c>Milvus:Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Milvus:Auth";

    /// <summary>When non-empty, every <c>/api/v1</c> route needs one of these keys.</summary>
    public string[] ApiKeys { get; set; } = [];
}

/// <summary>Request limits (section <c>Milvus:Limits</c>).</summary>
public sealed class LimitsOptions
{
    public const string SectionName = "Milvus:Limits";

    /// <summary>The largest request body, in bytes; larger bodies get 413.</summary>
    public long MaxRequestBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>The largest single message payload, in bytes; larger payloads get 413.</summary>
    public long MaxMessageBytes { get; set; } = 8L * 1024 * 1024;
}

/// <summary>Per-client rate limiting (section <c>Milvus:RateLimit</c>).</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "Milvus:RateLimit";

    /// <summary>Requests per second per client address; 0 turns rate limiting off.</summary>
    public int PermitsPerSecond { get; set; }

    /// <summary>How many requests a client may send at once above the steady rate.</summary>
    public int Burst { get; set; }
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
}

/// <summary>The job storages.</summary>
public enum JobStorageKind
{
    Memory,
    Redis,
}
