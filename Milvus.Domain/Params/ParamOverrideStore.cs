using Milvus.Domain.Kv;

namespace Milvus.Domain.Params;

/// <summary>
/// The run-time parameter overrides of the whole cluster, kept in the meta KV under <c>params/overrides/&lt;key&gt;</c>
/// (etcd in the distributed mode), as Milvus keeps its run-time configuration: every gateway loads them at start and
/// follows them with a watch, so an override set through one gateway reaches all and survives restarts.
/// </summary>
public sealed class ParamOverrideStore(IMetaKv kv) : IDisposable
{
    /// <summary>The key prefix of the overrides.</summary>
    public const string Prefix = "params/overrides/";

    // Serialises what this gateway changes with what the watch brings in, each applied to the table as one step with
    // its store operation: a watch event that comes late (say, of a set that a remove has since undone) applies what
    // the store holds now, never its own stale value, so the table never goes back.
    private readonly SemaphoreSlim _applying = new(1, 1);

    /// <summary>
    /// Stores <paramref name="overrides"/> (dotted lower-case keys) in one atomic step, then applies them to
    /// <paramref name="table"/> when one is given.
    /// </summary>
    public async Task SaveAsync(IReadOnlyDictionary<string, string> overrides, BaseTable? table = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        await _applying.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await kv.MultiSaveAsync(overrides.ToDictionary(p => Prefix + p.Key, p => p.Value, StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);
            table?.LoadFromKVPair(overrides);
        }
        finally
        {
            _applying.Release();
        }
    }

    /// <summary>
    /// Removes the override of <paramref name="key"/>, and from <paramref name="table"/> when one is given; whether
    /// there was one.
    /// </summary>
    public async Task<bool> RemoveAsync(string key, BaseTable? table = null, CancellationToken cancellationToken = default)
    {
        await _applying.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (await LoadOneAsync(key, cancellationToken).ConfigureAwait(false) is null)
            {
                return false;
            }
            await kv.RemoveAsync(Prefix + key, cancellationToken).ConfigureAwait(false);
            table?.RemoveOverride(key);
            return true;
        }
        finally
        {
            _applying.Release();
        }
    }

    /// <summary>
    /// Puts every stored override into <paramref name="table"/>'s override layer, in place of what it held; the revision
    /// they were read at, from which <see cref="WatchAsync"/> follows.
    /// </summary>
    public async Task<long> LoadIntoAsync(BaseTable table, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        await _applying.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var read = await kv.LoadWithRevisionAsync(Prefix, cancellationToken).ConfigureAwait(false);
            var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < read.Pairs.Count; i++)
            {
                overrides[read.Pairs.Keys[i][Prefix.Length..]] = read.Pairs.Values[i];
            }
            table.ReplaceOverrides(overrides);
            return read.Revision;
        }
        finally
        {
            _applying.Release();
        }
    }

    /// <summary>Applies to <paramref name="table"/> the override of <paramref name="key"/> as the store holds it now.</summary>
    public async Task ApplyStoredAsync(string key, BaseTable table, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        await _applying.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (await LoadOneAsync(key, cancellationToken).ConfigureAwait(false) is { } value)
            {
                table.LoadFromKVPair([new(key, value)]);
            }
            else
            {
                table.RemoveOverride(key);
            }
        }
        finally
        {
            _applying.Release();
        }
    }

    public void Dispose() => _applying.Dispose();

    private async Task<string?> LoadOneAsync(string key, CancellationToken cancellationToken)
    {
        var found = await kv.LoadWithPrefixAsync(Prefix + key, cancellationToken).ConfigureAwait(false);
        var index = found.Keys.ToList().IndexOf(Prefix + key);
        return index < 0 ? null : found.Values[index];
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
