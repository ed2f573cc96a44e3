namespace Milvus.Domain.Kv;

/// <summary>A key-value operation failed.</summary>
public class KvException : Exception, IMilvusError
{
    public KvException(string message) : base(message) { }

    public KvException(string message, Exception inner) : base(message, inner) { }

    public virtual ErrorKind Kind => ErrorKind.Invalid;
}

/// <summary>One or more keys do not exist.</summary>
public sealed class KvKeyNotFoundException : KvException
{
    public KvKeyNotFoundException(string key) : this([key]) { }

    public KvKeyNotFoundException(IReadOnlyList<string> keys)
        : base(keys.Count == 1 ? $"The key '{keys[0]}' does not exist." : $"These keys do not exist: {string.Join(", ", keys.Select(k => $"'{k}'"))}.")
    {
        Keys = keys;
    }

    /// <summary>The missing keys.</summary>
    public IReadOnlyList<string> Keys { get; }

    public override ErrorKind Kind => ErrorKind.NotFound;
}

/// <summary>The backend cannot be reached or did not answer in time. The HTTP layer maps this to 503.</summary>
public sealed class KvUnavailableException(string backend, string message, Exception? inner = null)
    : KvException($"The {backend} backend is unavailable: {message}", inner ?? new InvalidOperationException(message))
{
    /// <summary>The backend's name, e.g. <c>etcd</c>.</summary>
    public string Backend { get; } = backend;

    public override ErrorKind Kind => ErrorKind.Unavailable;
}

/// <summary>Argument checks shared by every backend.</summary>
internal static class KvGuard
{
    /// <summary>Throws <see cref="ArgumentException"/> for an empty key.</summary>
    public static void Key(string key, string paramName = "key")
    {
        if (string.IsNullOrEmpty(key))
        {
            throw new ArgumentException("A key must not be empty.", paramName);
        }
    }

    /// <summary>Throws for a null list or an empty key in it.</summary>
    public static void Keys(IEnumerable<string> keys, string paramName = "keys")
    {
        ArgumentNullException.ThrowIfNull(keys, paramName);
        foreach (var key in keys)
        {
            Key(key, paramName);
        }
    }

    /// <summary>
    /// Throws when a key is both saved and removed in one atomic step: etcd refuses such a transaction, so every
    /// backend refuses it the same way.
    /// </summary>
    public static void Disjoint(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removals)
    {
        ArgumentNullException.ThrowIfNull(saves);
        Keys(saves.Keys, nameof(saves));
        Keys(removals, nameof(removals));
        var both = removals.Where(saves.ContainsKey).ToList();
        if (both.Count > 0)
        {
            throw new ArgumentException($"A key cannot be saved and removed in one step: {string.Join(", ", both)}.", nameof(removals));
        }
    }

    /// <summary>Throws when a saved key lies under a prefix that the same atomic step removes.</summary>
    public static void DisjointPrefixes(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removalPrefixes)
    {
        ArgumentNullException.ThrowIfNull(saves);
        ArgumentNullException.ThrowIfNull(removalPrefixes);
        Keys(saves.Keys, nameof(saves));
        var clash = saves.Keys.Where(k => removalPrefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal))).ToList();
        if (clash.Count > 0)
        {
            throw new ArgumentException($"A key cannot be saved under a prefix removed in the same step: {string.Join(", ", clash)}.", nameof(removalPrefixes));
        }
    }
}
