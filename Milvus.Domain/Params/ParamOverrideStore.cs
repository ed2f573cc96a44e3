using Milvus.Domain.Kv;

namespace Milvus.Domain.Params;

/// <summary>
/// The run-time parameter overrides of the whole cluster, kept in the meta KV under <c>params/overrides/&lt;key&gt;</c>
/// (etcd in the distributed mode), as Milvus keeps its run-time configuration: every gateway loads them at start and
/// follows them with a watch, so an override set through one gateway reaches all and survives restarts.
/// </summary>
public sealed class ParamOverrideStore(IMetaKv kv)
{
    /// <summary>The key prefix of the overrides.</summary>
    public const string Prefix = "params/overrides/";

    /// <summary>Stores <paramref name="overrides"/> (dotted lower-case keys) in one atomic step.</summary>
    public Task SaveAsync(IReadOnlyDictionary<string, string> overrides, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        return kv.MultiSaveAsync(overrides.ToDictionary(p => Prefix + p.Key, p => p.Value, StringComparer.Ordinal), cancellationToken);
    }

    /// <summary>Removes the override of <paramref name="key"/>; whether there was one.</summary>
    public async Task<bool> RemoveAsync(string key, CancellationToken cancellationToken = default)
    {
        var existing = await kv.LoadWithPrefixAsync(Prefix + key, cancellationToken).ConfigureAwait(false);
        if (!existing.Keys.Contains(Prefix + key, StringComparer.Ordinal))
        {
            return false;
        }
        await kv.RemoveAsync(Prefix + key, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Every stored override, and the revision they were read at.</summary>
    public async Task<(IReadOnlyDictionary<string, string> Overrides, long Revision)> LoadAsync(CancellationToken cancellationToken = default)
    {
        var read = await kv.LoadWithRevisionAsync(Prefix, cancellationToken).ConfigureAwait(false);
        var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < read.Pairs.Count; i++)
        {
            overrides[read.Pairs.Keys[i][Prefix.Length..]] = read.Pairs.Values[i];
        }
        return (overrides, read.Revision);
    }

    /// <summary>The changes after <paramref name="revision"/>: a key, and its new value or null when its override was removed.</summary>
    /// <exception cref="KvWatchCompactedException">The history after the revision is gone; load again.</exception>
    public async IAsyncEnumerable<(string Key, string? Value)> WatchAsync(long revision, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var response in kv.WatchWithRevisionAsync(Prefix, revision + 1, cancellationToken).ConfigureAwait(false))
        {
            foreach (var change in response.Events)
            {
                yield return (change.Key[Prefix.Length..], change.Type == KvEventType.Put ? change.Value : null);
            }
        }
    }
}
