namespace Milvus.Domain.Kv;

/// <summary>
/// An optional base for <see cref="ITxnKv"/> backends: the single-key and removal-only operations are the atomic
/// forms with an empty side, so a backend writes only the loads and the two atomic writes, and overrides the rest
/// where it has a cheaper native call.
/// </summary>
public abstract class TxnKvBase : ITxnKv
{
    private static readonly IReadOnlyDictionary<string, string> NoSaves = new Dictionary<string, string>();

    public abstract Task<string> LoadAsync(string key, CancellationToken cancellationToken = default);

    public abstract Task<IReadOnlyList<string>> MultiLoadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default);

    public abstract Task<KvPairs> LoadWithPrefixAsync(string prefix, CancellationToken cancellationToken = default);

    public abstract Task MultiSaveAndRemoveAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removals, CancellationToken cancellationToken = default);

    public abstract Task MultiSaveAndRemoveWithPrefixAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removalPrefixes, CancellationToken cancellationToken = default);

    public abstract ValueTask DisposeAsync();

    public virtual Task SaveAsync(string key, string value, CancellationToken cancellationToken = default) =>
        MultiSaveAndRemoveAsync(new Dictionary<string, string> { [key] = value }, [], cancellationToken);

    public virtual Task MultiSaveAsync(IReadOnlyDictionary<string, string> kvs, CancellationToken cancellationToken = default) =>
        MultiSaveAndRemoveAsync(kvs, [], cancellationToken);

    public virtual Task RemoveAsync(string key, CancellationToken cancellationToken = default) =>
        MultiSaveAndRemoveAsync(NoSaves, [key], cancellationToken);

    public virtual Task MultiRemoveAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default) =>
        MultiSaveAndRemoveAsync(NoSaves, keys, cancellationToken);

    public virtual Task RemoveWithPrefixAsync(string prefix, CancellationToken cancellationToken = default) =>
        MultiSaveAndRemoveWithPrefixAsync(NoSaves, [prefix], cancellationToken);

    public virtual Task MultiRemoveWithPrefixAsync(IReadOnlyList<string> prefixes, CancellationToken cancellationToken = default) =>
        MultiSaveAndRemoveWithPrefixAsync(NoSaves, prefixes, cancellationToken);
}
