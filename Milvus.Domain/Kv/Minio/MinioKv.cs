using System.Text;
using Minio;
using Minio.DataModel.Args;
using Minio.Exceptions;

namespace Milvus.Domain.Kv.Minio;

/// <summary>
/// An <see cref="IBaseKv"/> on an S3-compatible object store through the Minio SDK (seed A.7.7): each pair is
/// one object whose name is the root path followed by the key and whose content is the value in UTF-8. Single
/// object operations are atomic; operations on several keys are not (S3 has no transactions), which is why this
/// is not an <see cref="ITxnKv"/>. A server that cannot be reached fails each call with
/// <see cref="KvUnavailableException"/> after the client's short timeout. Thread-safe.
/// </summary>
public sealed class MinioKv : IBaseKv
{
    private const string BackendName = "minio";
    private const int DeleteBatch = 1000;
    private const int Parallelism = 16;

    private readonly IMinioClient _client;
    private readonly string _bucket;
    private readonly string _root;

    /// <summary>A store on an existing client; it owns the client and disposes it.</summary>
    public MinioKv(IMinioClient client, string bucket, string rootPath = "")
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        _client = client;
        _bucket = bucket;
        _root = KvPaths.NormalizeRoot(rootPath);
    }

    /// <summary>
    /// Connects to the server that <paramref name="options"/> names and creates its bucket when missing. Keys live
    /// under <paramref name="rootPath"/>; each call gives up after <paramref name="timeout"/> (5 s by default).
    /// </summary>
    /// <exception cref="KvUnavailableException">The server cannot be reached.</exception>
    public static async Task<MinioKv> OpenAsync(MinioOptions options, string rootPath = "", TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var kv = Create(options, rootPath, timeout);
        try
        {
            await kv.EnsureBucketAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            await kv.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return kv;
    }

    /// <summary>
    /// A store on the server that <paramref name="options"/> names, without contacting it: a gateway can start
    /// while the server is down and call <see cref="EnsureBucketAsync"/> once it is back.
    /// </summary>
    public static MinioKv Create(MinioOptions options, string rootPath = "", TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var client = new MinioClient()
            .WithEndpoint(options.Endpoint)
            .WithCredentials(options.AccessKey, options.SecretKey)
            .WithSSL(options.UseSsl)
            .WithTimeout((int)(timeout ?? TimeSpan.FromSeconds(5)).TotalMilliseconds)
            .Build();
        return new MinioKv(client, options.Bucket, rootPath);
    }

    /// <summary>Creates the bucket when it does not exist.</summary>
    public Task EnsureBucketAsync(CancellationToken cancellationToken = default) => Call(async () =>
    {
        if (!await _client.BucketExistsAsync(new BucketExistsArgs().WithBucket(_bucket), cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await _client.MakeBucketAsync(new MakeBucketArgs().WithBucket(_bucket), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // Another gateway may have made it at the same moment; anything else fails again here.
                if (!await _client.BucketExistsAsync(new BucketExistsArgs().WithBucket(_bucket), cancellationToken).ConfigureAwait(false))
                {
                    throw;
                }
            }
        }
        return 0;
    }, cancellationToken);

    /// <summary>Asks the server whether the bucket exists, for readiness checks.</summary>
    /// <exception cref="KvUnavailableException">The server does not answer, or the bucket is gone.</exception>
    public async Task PingAsync(CancellationToken cancellationToken = default)
    {
        var exists = await Call(() => _client.BucketExistsAsync(new BucketExistsArgs().WithBucket(_bucket), cancellationToken), cancellationToken).ConfigureAwait(false);
        if (!exists)
        {
            throw new KvUnavailableException(BackendName, $"the bucket '{_bucket}' does not exist");
        }
    }

    public async Task<string> LoadAsync(string key, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        return await TryLoadAsync(key, cancellationToken).ConfigureAwait(false) ?? throw new KvKeyNotFoundException(key);
    }

    public async Task<IReadOnlyList<string>> MultiLoadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        KvGuard.Keys(keys);
        var values = await LoadManyAsync(keys, cancellationToken).ConfigureAwait(false);
        var missing = keys.Where((_, i) => values[i] is null).ToList();
        return missing.Count > 0 ? throw new KvKeyNotFoundException(missing) : values.Select(v => v!).ToList();
    }

    public async Task<KvPairs> LoadWithPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var keys = await ListAsync(prefix, cancellationToken).ConfigureAwait(false);
        var values = await LoadManyAsync(keys, cancellationToken).ConfigureAwait(false);
        // An object removed between the listing and the read is simply not part of the answer.
        var kept = Enumerable.Range(0, keys.Count).Where(i => values[i] is not null).ToList();
        return new KvPairs(kept.Select(i => keys[i]).ToList(), kept.Select(i => values[i]!).ToList());
    }

    public Task SaveAsync(string key, string value, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        ArgumentNullException.ThrowIfNull(value);
        var bytes = Encoding.UTF8.GetBytes(value);
        return Call(async () =>
        {
            using var stream = new MemoryStream(bytes, writable: false);
            var args = new PutObjectArgs()
                .WithBucket(_bucket)
                .WithObject(_root + key)
                .WithStreamData(stream)
                .WithObjectSize(bytes.Length)
                .WithContentType("text/plain; charset=utf-8");
            await _client.PutObjectAsync(args, cancellationToken).ConfigureAwait(false);
            return 0;
        }, cancellationToken);
    }

    public async Task MultiSaveAsync(IReadOnlyDictionary<string, string> kvs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kvs);
        KvGuard.Keys(kvs.Keys, nameof(kvs));
        foreach (var value in kvs.Values)
        {
            ArgumentNullException.ThrowIfNull(value, nameof(kvs));
        }
        await Parallel.ForEachAsync(kvs, Options(cancellationToken), async (pair, ct) => await SaveAsync(pair.Key, pair.Value, ct).ConfigureAwait(false))
            .ConfigureAwait(false);
    }

    public Task RemoveAsync(string key, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        return Call(async () =>
        {
            await _client.RemoveObjectAsync(new RemoveObjectArgs().WithBucket(_bucket).WithObject(_root + key), cancellationToken).ConfigureAwait(false);
            return 0;
        }, cancellationToken);
    }

    public Task MultiRemoveAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        KvGuard.Keys(keys);
        return RemoveObjectsAsync(keys, cancellationToken);
    }

    public async Task RemoveWithPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var keys = await ListAsync(prefix, cancellationToken).ConfigureAwait(false);
        await RemoveObjectsAsync(keys, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    private static ParallelOptions Options(CancellationToken cancellationToken) =>
        new() { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken };

    private async Task<string?[]> LoadManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var values = new string?[keys.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, keys.Count), Options(cancellationToken), async (i, ct) =>
            values[i] = await TryLoadAsync(keys[i], ct).ConfigureAwait(false)).ConfigureAwait(false);
        return values;
    }

    private Task<string?> TryLoadAsync(string key, CancellationToken cancellationToken) => Call(async () =>
    {
        using var buffer = new MemoryStream();
        var args = new GetObjectArgs()
            .WithBucket(_bucket)
            .WithObject(_root + key)
            .WithCallbackStream((stream, ct) => stream.CopyToAsync(buffer, ct));
        try
        {
            await _client.GetObjectAsync(args, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }, cancellationToken);

    /// <summary>The keys under <paramref name="prefix"/>, without the root path, in ordinal order.</summary>
    private Task<List<string>> ListAsync(string prefix, CancellationToken cancellationToken) => Call(async () =>
    {
        var keys = new List<string>();
        var args = new ListObjectsArgs().WithBucket(_bucket).WithPrefix(_root + prefix).WithRecursive(true);
        await foreach (var item in _client.ListObjectsEnumAsync(args, cancellationToken).ConfigureAwait(false))
        {
            if (!item.IsDir && item.Key.StartsWith(_root + prefix, StringComparison.Ordinal))
            {
                keys.Add(item.Key[_root.Length..]);
            }
        }
        keys.Sort(StringComparer.Ordinal);
        return keys;
    }, cancellationToken);

    private async Task RemoveObjectsAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        foreach (var chunk in keys.Chunk(DeleteBatch))
        {
            var errors = await Call(() => _client.RemoveObjectsAsync(
                new RemoveObjectsArgs().WithBucket(_bucket).WithObjects(chunk.Select(k => _root + k).ToList()), cancellationToken), cancellationToken)
                .ConfigureAwait(false);
            var failed = errors.Where(e => e.Code != "NoSuchKey").ToList();
            if (failed.Count > 0)
            {
                throw new KvUnavailableException(BackendName,
                    $"could not remove {string.Join(", ", failed.Select(e => $"'{e.Key}' ({e.Code}: {e.Message})"))}");
            }
        }
    }

    private static async Task<T> Call<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // The client's own timeout, not the caller's cancellation.
            throw new KvUnavailableException(BackendName, "the call timed out", e);
        }
        catch (HttpRequestException e)
        {
            throw new KvUnavailableException(BackendName, e.Message, e);
        }
        catch (MinioException e) when (e is not ObjectNotFoundException)
        {
            throw new KvUnavailableException(BackendName, e.Message, e);
        }
    }
}
