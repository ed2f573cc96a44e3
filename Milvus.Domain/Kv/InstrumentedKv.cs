using System.Diagnostics;
using System.Diagnostics.Metrics;
using Milvus.Domain.Telemetry;

namespace Milvus.Domain.Kv;

/// <summary>
/// The KV instruments: <c>milvus.kv.operation.duration</c> (seconds) and <c>milvus.kv.operation.errors</c>, both
/// tagged with the store (<c>meta</c> or <c>objects</c>), its backend and the operation.
/// </summary>
internal static class KvTelemetry
{
    private static readonly Histogram<double> Duration = MilvusTelemetry.Meter.CreateHistogram(
        "milvus.kv.operation.duration", "s", "How long a KV operation took, by store, backend and operation.", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = MilvusTelemetry.SecondsBuckets });

    private static readonly Counter<long> Errors = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.kv.operation.errors", "{error}", "KV operations that failed, by store, backend, operation and error kind (a missing key is an answer, not an error).");

    internal static void Record(string store, string backend, string operation, TimeSpan elapsed, Exception? error)
    {
        var tags = new TagList { { "store", store }, { "backend", backend }, { "operation", operation } };
        Duration.Record(elapsed.TotalSeconds, tags);
        if (error is not null and not OperationCanceledException and not KvKeyNotFoundException)
        {
            tags.Add("error", error is IMilvusError milvus ? milvus.Kind.ToString() : error.GetType().Name);
            Errors.Add(1, tags);
        }
    }
}

/// <summary>
/// The shared half of the KV decorators: times every <see cref="IBaseKv"/> call on the inner store and counts its
/// errors (<see cref="KvTelemetry"/>), then answers or throws exactly as the inner store did.
/// The decorated store is asked for on every call, so that a store opened after the decorator was made (at the
/// gateway's Init, after the DI container built its users) is the one decorated.
/// </summary>
public abstract class InstrumentedKvBase<TKv>(Func<TKv> inner, string store, string backend, TimeProvider time) : IBaseKv
    where TKv : IBaseKv
{
    /// <summary>The decorated store.</summary>
    protected TKv Inner => inner();

    public Task<string> LoadAsync(string key, CancellationToken cancellationToken = default) =>
        MeasureAsync("load", () => Inner.LoadAsync(key, cancellationToken));

    public Task<IReadOnlyList<string>> MultiLoadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default) =>
        MeasureAsync("multi_load", () => Inner.MultiLoadAsync(keys, cancellationToken));

    public Task<KvPairs> LoadWithPrefixAsync(string prefix, CancellationToken cancellationToken = default) =>
        MeasureAsync("load_with_prefix", () => Inner.LoadWithPrefixAsync(prefix, cancellationToken));

    public Task SaveAsync(string key, string value, CancellationToken cancellationToken = default) =>
        MeasureAsync("save", () => Inner.SaveAsync(key, value, cancellationToken));

    public Task MultiSaveAsync(IReadOnlyDictionary<string, string> kvs, CancellationToken cancellationToken = default) =>
        MeasureAsync("multi_save", () => Inner.MultiSaveAsync(kvs, cancellationToken));

    public Task RemoveAsync(string key, CancellationToken cancellationToken = default) =>
        MeasureAsync("remove", () => Inner.RemoveAsync(key, cancellationToken));

    public Task MultiRemoveAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default) =>
        MeasureAsync("multi_remove", () => Inner.MultiRemoveAsync(keys, cancellationToken));

    public Task RemoveWithPrefixAsync(string prefix, CancellationToken cancellationToken = default) =>
        MeasureAsync("remove_with_prefix", () => Inner.RemoveWithPrefixAsync(prefix, cancellationToken));

    /// <summary>The decorator does not own the inner store: whoever made it disposes it.</summary>
    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>Runs one call on the inner store, timing it and counting its error.</summary>
    protected async Task<T> MeasureAsync<T>(string operation, Func<Task<T>> call)
    {
        var start = time.GetTimestamp();
        try
        {
            var result = await call().ConfigureAwait(false);
            KvTelemetry.Record(store, backend, operation, time.GetElapsedTime(start), null);
            return result;
        }
        catch (Exception ex)
        {
            // Recorded and rethrown unchanged: the caller sees exactly what the store threw.
            KvTelemetry.Record(store, backend, operation, time.GetElapsedTime(start), ex);
            throw;
        }
    }

    /// <summary>Runs one call without a result on the inner store, timing it and counting its error.</summary>
    protected Task MeasureAsync(string operation, Func<Task> call) =>
        MeasureAsync<bool>(operation, async () =>
        {
            await call().ConfigureAwait(false);
            return true;
        });
}

/// <summary>An instrumented <see cref="IBaseKv"/>, such as the object store.</summary>
public sealed class InstrumentedKv(Func<IBaseKv> inner, string store, string backend, TimeProvider time)
    : InstrumentedKvBase<IBaseKv>(inner, store, backend, time)
{
    /// <summary>Decorates <paramref name="inner"/>.</summary>
    public InstrumentedKv(IBaseKv inner, string store, string backend, TimeProvider time)
        : this(() => inner, store, backend, time)
    {
    }
}

/// <summary>
/// An instrumented <see cref="IMetaKv"/>. Watches and keep-alives are long-lived streams, so they pass through
/// untimed.
/// </summary>
public sealed class InstrumentedMetaKv(Func<IMetaKv> inner, string store, string backend, TimeProvider time)
    : InstrumentedKvBase<IMetaKv>(inner, store, backend, time), IMetaKv
{
    /// <summary>Decorates <paramref name="inner"/>.</summary>
    public InstrumentedMetaKv(IMetaKv inner, string store, string backend, TimeProvider time)
        : this(() => inner, store, backend, time)
    {
    }

    public Task MultiSaveAndRemoveAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removals, CancellationToken cancellationToken = default) =>
        MeasureAsync("multi_save_and_remove", () => Inner.MultiSaveAndRemoveAsync(saves, removals, cancellationToken));

    public Task MultiRemoveWithPrefixAsync(IReadOnlyList<string> prefixes, CancellationToken cancellationToken = default) =>
        MeasureAsync("multi_remove_with_prefix", () => Inner.MultiRemoveWithPrefixAsync(prefixes, cancellationToken));

    public Task MultiSaveAndRemoveWithPrefixAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removalPrefixes, CancellationToken cancellationToken = default) =>
        MeasureAsync("multi_save_and_remove_with_prefix", () => Inner.MultiSaveAndRemoveWithPrefixAsync(saves, removalPrefixes, cancellationToken));

    public string GetPath(string key) => Inner.GetPath(key);

    public Task<KvVersionedPairs> LoadWithPrefix2Async(string prefix, CancellationToken cancellationToken = default) =>
        MeasureAsync("load_with_prefix2", () => Inner.LoadWithPrefix2Async(prefix, cancellationToken));

    public Task<KvPairsAtRevision> LoadWithRevisionAsync(string prefix, CancellationToken cancellationToken = default) =>
        MeasureAsync("load_with_revision", () => Inner.LoadWithRevisionAsync(prefix, cancellationToken));

    public IAsyncEnumerable<KvWatchResponse> WatchAsync(string key, CancellationToken cancellationToken = default) =>
        Inner.WatchAsync(key, cancellationToken);

    public IAsyncEnumerable<KvWatchResponse> WatchWithPrefixAsync(string prefix, CancellationToken cancellationToken = default) =>
        Inner.WatchWithPrefixAsync(prefix, cancellationToken);

    public IAsyncEnumerable<KvWatchResponse> WatchWithRevisionAsync(string prefix, long revision, CancellationToken cancellationToken = default) =>
        Inner.WatchWithRevisionAsync(prefix, revision, cancellationToken);

    public Task<long> GrantAsync(long ttlSeconds, CancellationToken cancellationToken = default) =>
        MeasureAsync("grant", () => Inner.GrantAsync(ttlSeconds, cancellationToken));

    public Task SaveWithLeaseAsync(string key, string value, long leaseId, CancellationToken cancellationToken = default) =>
        MeasureAsync("save_with_lease", () => Inner.SaveWithLeaseAsync(key, value, leaseId, cancellationToken));

    public IAsyncEnumerable<KvLeaseKeepAlive> KeepAliveAsync(long leaseId, CancellationToken cancellationToken = default) =>
        Inner.KeepAliveAsync(leaseId, cancellationToken);

    public Task RevokeAsync(long leaseId, CancellationToken cancellationToken = default) =>
        MeasureAsync("revoke", () => Inner.RevokeAsync(leaseId, cancellationToken));

    public Task<bool> CompareValueAndSwapAsync(string key, string expected, string target, long leaseId = 0, CancellationToken cancellationToken = default) =>
        MeasureAsync("compare_value_and_swap", () => Inner.CompareValueAndSwapAsync(key, expected, target, leaseId, cancellationToken));

    public Task<bool> CompareVersionAndSwapAsync(string key, long version, string target, long leaseId = 0, CancellationToken cancellationToken = default) =>
        MeasureAsync("compare_version_and_swap", () => Inner.CompareVersionAndSwapAsync(key, version, target, leaseId, cancellationToken));
}
