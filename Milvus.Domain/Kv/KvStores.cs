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
    private readonly string _dataDir;
    private readonly KvOptions _kv;
    private readonly ObjectStorageOptions _objectStorage;
    private readonly EtcdOptions _etcd;
    private readonly RedisOptions _redis;
    private readonly MinioOptions _minio;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    // Guards the one open: the first caller opens, the others wait for it and then see the open stores.
    private readonly SemaphoreSlim _opening = new(1, 1);
    private volatile Opened? _opened;

    /// <summary>
    /// The configured stores, not open yet: <see cref="OpenAsync(CancellationToken)"/> opens them. Embedded stores
    /// live under <paramref name="dataDir"/> (the gateway's data directory, <c>Milvus:DataDir</c>, as a full path);
    /// every meta key lives under <see cref="EtcdOptions.RootPath"/>, whatever the backend.
    /// </summary>
    public KvStores(
        string dataDir,
        KvOptions kv,
        ObjectStorageOptions objectStorage,
        EtcdOptions etcd,
        RedisOptions redis,
        MinioOptions minio,
        TimeProvider timeProvider,
        ILoggerFactory? loggerFactory = null)
    {
        _dataDir = dataDir;
        _kv = kv;
        _objectStorage = objectStorage;
        _etcd = etcd;
        _redis = redis;
        _minio = minio;
        _time = timeProvider;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        MetaBackend = Name(kv.Backend);
        ObjectBackend = Name(objectStorage.Backend);
    }

    /// <summary>Whether <see cref="OpenAsync(CancellationToken)"/> has opened the stores.</summary>
    public bool IsOpen => _opened is not null;

    /// <summary>The meta store: all meta data, leases, watches and sessions.</summary>
    /// <exception cref="KvUnavailableException">The stores are not open yet.</exception>
    public IMetaKv Meta => (_opened ?? throw NotOpen(MetaBackend)).Meta;

    /// <summary>The object store: segments and other large values.</summary>
    /// <exception cref="KvUnavailableException">The stores are not open yet.</exception>
    public IBaseKv Objects => (_opened ?? throw NotOpen(ObjectBackend)).Objects;

    /// <summary>The meta backend's name, for health reports.</summary>
    public string MetaBackend { get; }

    /// <summary>The object backend's name, for health reports.</summary>
    public string ObjectBackend { get; }

    /// <summary>Opens the configured stores (see the constructor); at once.</summary>
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
        var stores = new KvStores(dataDir, kv, objectStorage, etcd, redis, minio, timeProvider, loggerFactory);
        await stores.OpenAsync(cancellationToken).ConfigureAwait(false);
        return stores;
    }

    /// <summary>
    /// Opens the stores, once: a call after they are open returns at once, and a failed open can be tried again.
    /// Remote stores (etcd, Redis, MinIO) do not need their server to answer yet; embedded ones open their files.
    /// </summary>
    /// <exception cref="KvUnavailableException">An embedded store cannot be opened (for example, another process holds it).</exception>
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        if (_opened is not null)
        {
            return;
        }
        await _opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _opened ??= await OpenStoresAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _opening.Release();
        }
    }

    private async Task<Opened> OpenStoresAsync(CancellationToken cancellationToken)
    {
        var root = _etcd.RootPath;
        var redisStore = _kv.Backend == KvBackend.Redis ? await RedisKv.ConnectAsync(_redis.Configuration).ConfigureAwait(false) : null;
        IMetaKv meta = _kv.Backend switch
        {
            KvBackend.RocksDb => await EmbeddedMetaKv.OpenAsync(
                RocksDbKv.Open(Path.Combine(_dataDir, "meta")), root, _time,
                logger: _loggerFactory.CreateLogger<EmbeddedMetaKv>(), ownsStore: true, cancellationToken: cancellationToken).ConfigureAwait(false),
            KvBackend.Memory => await EmbeddedMetaKv.OpenAsync(
                new MemoryKv(), root, _time,
                logger: _loggerFactory.CreateLogger<EmbeddedMetaKv>(), ownsStore: true, cancellationToken: cancellationToken).ConfigureAwait(false),
            KvBackend.Etcd => new EtcdKv(_etcd.Endpoints, root, timeProvider: _time, logger: _loggerFactory.CreateLogger<EtcdKv>()),
            // Redis keeps the data; leases and watches are this process's own, so a Redis meta store serves one gateway.
            KvBackend.Redis => await EmbeddedMetaKv.OpenAsync(
                redisStore!, root, _time,
                logger: _loggerFactory.CreateLogger<EmbeddedMetaKv>(), ownsStore: true, cancellationToken: cancellationToken).ConfigureAwait(false),
            _ => throw new InvalidOperationException($"Milvus:Kv:Backend has the unknown value '{_kv.Backend}'; use rocksdb, memory, etcd or redis."),
        };
        try
        {
            IBaseKv objects = _objectStorage.Backend switch
            {
                ObjectStorageBackend.Local => new LocalFsKv(Path.Combine(_dataDir, "objects")),
                // The bucket is made on the first health check that reaches the server, so a gateway starts while MinIO is down.
                ObjectStorageBackend.Minio => MinioKv.Create(_minio),
                _ => throw new InvalidOperationException($"Milvus:ObjectStorage:Backend has the unknown value '{_objectStorage.Backend}'; use local or minio."),
            };
            return new Opened(meta, objects, redisStore);
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
        if ((_opened ?? throw NotOpen(MetaBackend)).RedisUnderMeta is { } redis)
        {
            await redis.PingAsync(cancellationToken).ConfigureAwait(false);
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
        if (_opened is { } opened)
        {
            await opened.Objects.DisposeAsync().ConfigureAwait(false);
            await opened.Meta.DisposeAsync().ConfigureAwait(false);
        }
        _opening.Dispose();
    }

    private static KvUnavailableException NotOpen(string backend) =>
        new(backend, "the store is not open yet: the gateway opens it as it starts (when it cannot, its log and its component state say why).");

    private sealed record Opened(IMetaKv Meta, IBaseKv Objects, RedisKv? RedisUnderMeta);

    private static string Name<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
