using Milvus.Domain.Kv;
using Milvus.Domain.Kv.LocalFs;
using Milvus.Domain.Kv.Memory;
using Milvus.Domain.Kv.Minio;
using Milvus.Domain.Kv.Redis;
using Milvus.Domain.Kv.RocksDb;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Kv;

/// <summary>Opens each backend for the contract suites, against the real servers of scripts/test.sh.</summary>
internal static class KvTestBackends
{
    public static Task<ITxnKv> MemoryAsync(string rootPath) => Task.FromResult<ITxnKv>(new MemoryKv(rootPath));

    /// <summary>A fresh database in its own directory under <paramref name="temp"/>.</summary>
    public static Task<ITxnKv> RocksDbAsync(TempDirectory temp, string rootPath) =>
        Task.FromResult<ITxnKv>(RocksDbKv.Open(temp.Combine("rocksdb-" + Guid.NewGuid().ToString("N")), rootPath));

    public static async Task<ITxnKv> RedisAsync(string rootPath) => await RedisKv.ConnectAsync(TestServers.Redis, rootPath);

    public static async Task<IBaseKv> MinioAsync(string rootPath) => await MinioKv.OpenAsync(S3Options(), rootPath);

    public static Task<IBaseKv> LocalFsAsync(TempDirectory temp, string rootPath) =>
        Task.FromResult<IBaseKv>(new LocalFsKv(temp.Combine("objects"), rootPath));

    public static MinioOptions S3Options(string? endpoint = null, string? bucket = null) => new()
    {
        Endpoint = endpoint ?? TestServers.S3Endpoint,
        AccessKey = TestServers.S3AccessKey,
        SecretKey = TestServers.S3SecretKey,
        Bucket = bucket ?? TestServers.S3Bucket,
    };

    /// <summary>A 127.0.0.1 port that nothing listens on.</summary>
    public static int ClosedPort() => LoopbackPorts.Unused();
}

public sealed class MemoryKvContractTests : TxnKvContractTests
{
    protected override async Task<IBaseKv> OpenAsync(string rootPath) => await KvTestBackends.MemoryAsync(rootPath);
}

public sealed class RocksDbKvContractTests : TxnKvContractTests
{
    protected override async Task<IBaseKv> OpenAsync(string rootPath) => await KvTestBackends.RocksDbAsync(Temp, rootPath);
}

public sealed class RedisKvContractTests : TxnKvContractTests
{
    protected override async Task<IBaseKv> OpenAsync(string rootPath) => await KvTestBackends.RedisAsync(rootPath);
}

public sealed class MinioKvContractTests : BaseKvContractTests
{
    protected override Task<IBaseKv> OpenAsync(string rootPath) => KvTestBackends.MinioAsync(rootPath);
}

public sealed class LocalFsKvContractTests : BaseKvContractTests
{
    protected override Task<IBaseKv> OpenAsync(string rootPath) => KvTestBackends.LocalFsAsync(Temp, rootPath);
}

public sealed class MemorySnapshotKvContractTests : SnapshotKvContractTests
{
    protected override Task<ITxnKv> OpenAsync(string rootPath) => KvTestBackends.MemoryAsync(rootPath);
}

public sealed class RocksDbSnapshotKvContractTests : SnapshotKvContractTests
{
    protected override Task<ITxnKv> OpenAsync(string rootPath) => KvTestBackends.RocksDbAsync(Temp, rootPath);
}

public sealed class RedisSnapshotKvContractTests : SnapshotKvContractTests
{
    protected override Task<ITxnKv> OpenAsync(string rootPath) => KvTestBackends.RedisAsync(rootPath);
}
