namespace Milvus.Domain.Kv;

/// <summary>
/// The basic key-value contract (seed A.7.1). Keys are non-empty strings that sort bytewise (ordinal); every key
/// lives under the backend's root path, which callers never see. Implementations are thread-safe.
/// </summary>
public interface IBaseKv : IAsyncDisposable
{
    /// <summary>The value of <paramref name="key"/>.</summary>
    /// <exception cref="KvKeyNotFoundException">The key does not exist.</exception>
    /// <exception cref="ArgumentException">The key is empty.</exception>
    /// <exception cref="KvUnavailableException">The backend cannot be reached.</exception>
    Task<string> LoadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>The values of <paramref name="keys"/>, in the same order.</summary>
    /// <exception cref="KvKeyNotFoundException">Some keys do not exist; the exception names all of them.</exception>
    Task<IReadOnlyList<string>> MultiLoadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default);

    /// <summary>Every pair whose key starts with <paramref name="prefix"/>, in key order.</summary>
    Task<KvPairs> LoadWithPrefixAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/>.</summary>
    Task SaveAsync(string key, string value, CancellationToken cancellationToken = default);

    /// <summary>Sets every pair of <paramref name="kvs"/>.</summary>
    Task MultiSaveAsync(IReadOnlyDictionary<string, string> kvs, CancellationToken cancellationToken = default);

    /// <summary>Removes <paramref name="key"/>. Removing a missing key succeeds.</summary>
    Task RemoveAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Removes every key of <paramref name="keys"/>; missing keys are ignored.</summary>
    Task MultiRemoveAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default);

    /// <summary>Removes every key that starts with <paramref name="prefix"/>.</summary>
    Task RemoveWithPrefixAsync(string prefix, CancellationToken cancellationToken = default);
}

/// <summary>
/// Key-value operations that are atomic: each applies in full or not at all (seed A.7.2).
/// </summary>
public interface ITxnKv : IBaseKv
{
    /// <summary>Saves <paramref name="saves"/> and removes <paramref name="removals"/> in one atomic step.</summary>
    Task MultiSaveAndRemoveAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removals, CancellationToken cancellationToken = default);

    /// <summary>Removes every key under each of <paramref name="prefixes"/> in one atomic step.</summary>
    Task MultiRemoveWithPrefixAsync(IReadOnlyList<string> prefixes, CancellationToken cancellationToken = default);

    /// <summary>Saves <paramref name="saves"/> and removes every key under <paramref name="removalPrefixes"/> in one atomic step.</summary>
    Task MultiSaveAndRemoveWithPrefixAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removalPrefixes, CancellationToken cancellationToken = default);
}

/// <summary>Keys with their values, in key order.</summary>
public sealed record KvPairs(IReadOnlyList<string> Keys, IReadOnlyList<string> Values)
{
    public static KvPairs Empty { get; } = new([], []);

    public int Count => Keys.Count;
}
