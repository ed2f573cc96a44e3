using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Memory;

namespace Milvus.Tests.Tso;

/// <summary>
/// A real <see cref="MemoryKv"/> with switches that make it fail like a backend that is down, and a gate that
/// holds saves, so tests can see what a component does while a save is in flight.
/// </summary>
internal sealed class FaultyKv : ITxnKv
{
    private readonly MemoryKv _inner = new("by-dev");

    /// <summary>Loads fail with <see cref="KvUnavailableException"/>.</summary>
    public bool FailLoads { get; set; }

    /// <summary>Saves fail with <see cref="KvUnavailableException"/>.</summary>
    public bool FailSaves { get; set; }

    /// <summary>When set, every save waits for it before it is applied.</summary>
    public TaskCompletionSource? SaveGate { get; set; }

    /// <summary>Completes when a save reaches the gate.</summary>
    public TaskCompletionSource SaveArrived { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Saves { get; private set; }

    public Task<string> LoadAsync(string key, CancellationToken cancellationToken = default) =>
        FailLoads ? throw Down() : _inner.LoadAsync(key, cancellationToken);

    public Task<IReadOnlyList<string>> MultiLoadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default) =>
        FailLoads ? throw Down() : _inner.MultiLoadAsync(keys, cancellationToken);

    public Task<KvPairs> LoadWithPrefixAsync(string prefix, CancellationToken cancellationToken = default) =>
        FailLoads ? throw Down() : _inner.LoadWithPrefixAsync(prefix, cancellationToken);

    public async Task SaveAsync(string key, string value, CancellationToken cancellationToken = default)
    {
        if (SaveGate is { } gate)
        {
            SaveArrived.TrySetResult();
            await gate.Task.WaitAsync(cancellationToken);
        }
        if (FailSaves)
        {
            throw Down();
        }
        await _inner.SaveAsync(key, value, cancellationToken);
        Saves++;
    }

    public Task MultiSaveAsync(IReadOnlyDictionary<string, string> kvs, CancellationToken cancellationToken = default) =>
        FailSaves ? throw Down() : _inner.MultiSaveAsync(kvs, cancellationToken);

    public Task RemoveAsync(string key, CancellationToken cancellationToken = default) => _inner.RemoveAsync(key, cancellationToken);

    public Task MultiRemoveAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default) => _inner.MultiRemoveAsync(keys, cancellationToken);

    public Task RemoveWithPrefixAsync(string prefix, CancellationToken cancellationToken = default) => _inner.RemoveWithPrefixAsync(prefix, cancellationToken);

    public Task MultiSaveAndRemoveAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removals, CancellationToken cancellationToken = default) =>
        FailSaves ? throw Down() : _inner.MultiSaveAndRemoveAsync(saves, removals, cancellationToken);

    public Task MultiRemoveWithPrefixAsync(IReadOnlyList<string> prefixes, CancellationToken cancellationToken = default) =>
        _inner.MultiRemoveWithPrefixAsync(prefixes, cancellationToken);

    public Task MultiSaveAndRemoveWithPrefixAsync(IReadOnlyDictionary<string, string> saves, IReadOnlyList<string> removalPrefixes, CancellationToken cancellationToken = default) =>
        FailSaves && saves.Count > 0 ? throw Down() : _inner.MultiSaveAndRemoveWithPrefixAsync(saves, removalPrefixes, cancellationToken);

    public ValueTask DisposeAsync() => _inner.DisposeAsync();

    /// <summary>The number saved under <paramref name="key"/>.</summary>
    public async Task<long> SavedNumberAsync(string key) => long.Parse(await _inner.LoadAsync(key));

    /// <summary>Arms the save gate and returns it.</summary>
    public TaskCompletionSource HoldSaves()
    {
        SaveArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        SaveGate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        return SaveGate;
    }

    private static KvUnavailableException Down() => new("faulty", "switched off by the test");
}
