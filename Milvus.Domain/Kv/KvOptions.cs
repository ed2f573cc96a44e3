namespace Milvus.Domain.Kv;

/// <summary>The meta key-value store (section <c>Milvus:Kv</c>).</summary>
public sealed class KvOptions
{
    public const string SectionName = "Milvus:Kv";

    public KvBackend Backend { get; set; } = KvBackend.RocksDb;

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => Enum.IsDefined(Backend) ? null : "Milvus:Kv:Backend must be rocksdb, memory, etcd or redis.";
}

/// <summary>The meta key-value backends.</summary>
public enum KvBackend
{
    RocksDb,
    Memory,
    Etcd,
    Redis,
}

/// <summary>The object store (section <c>Milvus:ObjectStorage</c>).</summary>
public sealed class ObjectStorageOptions
{
    public const string SectionName = "Milvus:ObjectStorage";

    public ObjectStorageBackend Backend { get; set; } = ObjectStorageBackend.Local;

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => Enum.IsDefined(Backend) ? null : "Milvus:ObjectStorage:Backend must be local or minio.";
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

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => string.IsNullOrWhiteSpace(Endpoints) ? "Milvus:Etcd:Endpoints must not be empty." : null;
}

/// <summary>Redis (section <c>Milvus:Redis</c>).</summary>
public sealed class RedisOptions
{
    public const string SectionName = "Milvus:Redis";

    /// <summary>A StackExchange.Redis configuration string.</summary>
    public string Configuration { get; set; } = "127.0.0.1:6379";

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => string.IsNullOrWhiteSpace(Configuration) ? "Milvus:Redis:Configuration must not be empty." : null;
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

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => string.IsNullOrWhiteSpace(Endpoint) || string.IsNullOrWhiteSpace(Bucket) ? "Milvus:Minio:Endpoint and Milvus:Minio:Bucket must not be empty." : null;
}
