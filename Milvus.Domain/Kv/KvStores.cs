using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Milvus.Domain.Kv.Embedded;
using Milvus.Domain.Kv.Etcd;
using Milvus.Domain.Kv.LocalFs;
using Milvus.Domain.Kv.Memory;
using Milvus.Domain.Kv.Minio;
using Milvus.Domain.Kv.Redis;
using Milvus.Domain.Kv.RocksDb;

namespace Milvus.Domain.Kv;

/// <summary>
/// The stores the gateway runs on: the meta store (an <see cref="IMetaKv"/>, with leases and watches) and the
/// object store. Backend choice lives here and nowhere else: one switch per store on the configured enum, with
/// a clear error for a value it does not know.
/// </summary>
public sealed class KvStores : IAsyncDisposable
{
    private readonly RedisKv? _redisUnderMeta;

    private KvStores(IMetaKv meta, IBaseKv objects, string metaBackend, string objectBackend, RedisKv? redisUnderMeta)
    {
        _redisUnderMeta = redisUnderMeta;
        Meta = meta;
        Objects = objects;
        MetaBackend = metaBackend;
        ObjectBackend = objectBackend;
    }

    /// <summary>The meta store: all meta data, leases, watches and sessions.</summary>
    public IMetaKv Meta { get; }

    /// <summary>The object store: segments and other large values.</summary>
    public IBaseKv Objects { get; }

    /// <summary>The meta backend's name, for health reports.</summary>
    public string MetaBackend { get; }

    /// <summary>The object backend's name, for health reports.</summary>
    public string ObjectBackend { get; }

    /// <summary>
    /// Opens the configured stores. Embedded stores live under <paramref name="dataDir"/> (the gateway's data
    /// directory, <c>Milvus:DataDir</c>, as a full path); every meta key
    /// lives under <see cref="EtcdOptions.RootPath"/>, whatever the backend.
    /// </summary>
    /// <exception cref="KvUnavailableException">An embedded store cannot be opened (for example, another process holds it).</exception>
    public static async Task<KvStores> OpenAsync(
        string dataDir,
        KvOptions kv,
        ObjectStorageOptions objectStorage,
        EtcdOptions etcd,
        RedisOptions redis,
        MinioOptions minio,
        TimeProvider timeProvider,
        ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        loggerFactory ??= NullLoggerFactory.Instance;
        var root = etcd.RootPath;
        var redisStore = kv.Backend == KvBackend.Redis ? await RedisKv.ConnectAsync(redis.Configuration).ConfigureAwait(false) : null;
        IMetaKv meta = kv.Backend switch
        {
            KvBackend.RocksDb => await EmbeddedMetaKv.OpenAsync(
                RocksDbKv.Open(Path.Combine(dataDir, "meta")), root, timeProvider,
                logger: loggerFactory.CreateLogger<EmbeddedMetaKv>(), ownsStore: true, cancellationToken: cancellationToken).ConfigureAwait(false),
            KvBackend.Memory => await EmbeddedMetaKv.OpenAsync(
                new MemoryKv(), root, timeProvider,
                logger: loggerFactory.CreateLogger<EmbeddedMetaKv>(), ownsStore: true, cancellationToken: cancellationToken).ConfigureAwait(false),
            KvBackend.Etcd => new EtcdKv(etcd.Endpoints, root, timeProvider: timeProvider, logger: loggerFactory.CreateLogger<EtcdKv>()),
            // Redis keeps the data; leases and watches are this process's own, so a Redis meta store serves one gateway.
            KvBackend.Redis => await EmbeddedMetaKv.OpenAsync(
                redisStore!, root, timeProvider,
                logger: loggerFactory.CreateLogger<EmbeddedMetaKv>(), ownsStore: true, cancellationToken: cancellationToken).ConfigureAwait(false),
            _ => throw new InvalidOperationException($"Milvus:Kv:Backend has the unknown value '{kv.Backend}'; use rocksdb, memory, etcd or redis."),
        };
        try
        {
            IBaseKv objects = objectStorage.Backend switch
            {
                ObjectStorageBackend.Local => new LocalFsKv(Path.Combine(dataDir, "objects")),
                // The bucket is made on the first health check that reaches the server, so a gateway starts while MinIO is down.
                ObjectStorageBackend.Minio => MinioKv.Create(minio),
                _ => throw new InvalidOperationException($"Milvus:ObjectStorage:Backend has the unknown value '{objectStorage.Backend}'; use local or minio."),
            };
            return new KvStores(meta, objects, Name(kv.Backend), Name(objectStorage.Backend), redisStore);
        }
        catch
        {
            await meta.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Checks that the meta store answers: a read of an empty prefix, or, on Redis, a PING (the embedded emulation
    /// over Redis answers reads from memory, so a read would not notice Redis going away).
    /// </summary>
    /// <exception cref="KvUnavailableException">The backend does not answer.</exception>
    public async Task PingMetaAsync(CancellationToken cancellationToken)
    {
        if (_redisUnderMeta is not null)
        {
            await _redisUnderMeta.PingAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        await Meta.LoadWithPrefixAsync(".health/", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Checks that the object store answers (and, on MinIO, that its bucket exists); it changes nothing.</summary>
    /// <exception cref="KvUnavailableException">The backend does not answer, or the bucket does not exist.</exception>
    public async Task PingObjectsAsync(CancellationToken cancellationToken)
    {
        if (Objects is MinioKv minio)
        {
            await minio.PingAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        await Objects.LoadWithPrefixAsync(".health/", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Makes the object store ready to write: on MinIO, creates the bucket when it does not exist.</summary>
    /// <exception cref="KvUnavailableException">The backend does not answer.</exception>
    public Task PrepareObjectsAsync(CancellationToken cancellationToken) =>
        Objects is MinioKv minio ? minio.EnsureBucketAsync(cancellationToken) : Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await Objects.DisposeAsync().ConfigureAwait(false);
        await Meta.DisposeAsync().ConfigureAwait(false);
    }

    private static string Name<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
