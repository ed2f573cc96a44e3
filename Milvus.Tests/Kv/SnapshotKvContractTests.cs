using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Snapshot;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Kv;

/// <summary>The <see cref="ISnapshotKv"/> contract, run over each <see cref="ITxnKv"/> backend.</summary>
public abstract class SnapshotKvContractTests : IAsyncLifetime
{
    protected TempDirectory Temp { get; } = new();

    protected string RootPath { get; } = $"snapshot-{Guid.NewGuid():N}";

    /// <summary>The store underneath, to look at the plain keys and the versions.</summary>
    protected ITxnKv Txn { get; private set; } = null!;

    protected SnapshotKv Snapshots { get; private set; } = null!;

    /// <summary>Opens a store of the backend under test with its keys under <paramref name="rootPath"/>.</summary>
    protected abstract Task<ITxnKv> OpenAsync(string rootPath);

    public async Task InitializeAsync()
    {
        Txn = await OpenAsync(RootPath);
        Snapshots = new SnapshotKv(Txn);
    }

    public async Task DisposeAsync()
    {
        await Txn.DisposeAsync();
        Temp.Dispose();
    }

    [Fact]
    public async Task LoadAtATimestampReadsTheGreatestVersionAtOrBeforeIt()
    {
        await Snapshots.SaveAsync("k", "v10", 10);
        await Snapshots.SaveAsync("k", "v20", 20);
        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Snapshots.LoadAsync("k", 9));
        Assert.Equal("v10", await Snapshots.LoadAsync("k", 10));
        Assert.Equal("v10", await Snapshots.LoadAsync("k", 19));
        Assert.Equal("v20", await Snapshots.LoadAsync("k", 20));
        Assert.Equal("v20", await Snapshots.LoadAsync("k", ulong.MaxValue));
        Assert.Equal("v20", await Snapshots.LoadAsync("k", 0));
    }

    [Fact]
    public async Task ThePlainKeyHoldsTheLatestValue()
    {
        await Snapshots.MultiSaveAsync(new Dictionary<string, string> { ["a"] = "1", ["b"] = "1" }, 5);
        await Snapshots.SaveAsync("a", "2", 7);
        Assert.Equal(["2", "1"], await Txn.MultiLoadAsync(["a", "b"]));
    }

    [Fact]
    public async Task AnOlderWriteAddsItsVersionButLeavesTheLatestValue()
    {
        await Snapshots.SaveAsync("k", "v100", 100);
        await Snapshots.SaveAsync("k", "v50", 50);
        await Snapshots.MultiSaveAsync(new Dictionary<string, string> { ["k"] = "v70", ["other"] = "o70" }, 70);

        Assert.Equal("v100", await Snapshots.LoadAsync("k", 0));
        Assert.Equal("v100", await Txn.LoadAsync("k"));
        Assert.Equal("o70", await Snapshots.LoadAsync("other", 0));
        Assert.Equal("v50", await Snapshots.LoadAsync("k", 60));
        Assert.Equal("v70", await Snapshots.LoadAsync("k", 99));
        Assert.Equal("v100", await Snapshots.LoadAsync("k", 100));
        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Snapshots.LoadAsync("k", 49));

        await Snapshots.SaveAsync("k", "v100b", 100);
        Assert.Equal("v100b", await Snapshots.LoadAsync("k", 0));
    }

    [Fact]
    public async Task ARemovalHidesTheKeyFromItsTimestampOnButNotBefore()
    {
        await Snapshots.MultiSaveAsync(new Dictionary<string, string> { ["dir/a"] = "a", ["dir/b"] = "b", ["keep"] = "k" }, 10);
        await Snapshots.MultiSaveAndRemoveWithPrefixAsync(new Dictionary<string, string> { ["new"] = "n" }, ["dir/"], 20);

        Assert.Equal("a", await Snapshots.LoadAsync("dir/a", 15));
        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Snapshots.LoadAsync("dir/a", 20));
        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Snapshots.LoadAsync("dir/a", 0));
        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Txn.LoadAsync("dir/b"));
        Assert.Equal(["dir/a", "dir/b", "keep"], (await Snapshots.LoadWithPrefixAsync("", 19)).Keys);
        Assert.Equal(["keep", "new"], (await Snapshots.LoadWithPrefixAsync("", 20)).Keys);
        Assert.Equal(["keep", "new"], (await Snapshots.LoadWithPrefixAsync("", 0)).Keys);
    }

    [Fact]
    public async Task AKeySavedAgainAfterItsRemovalIsVisibleFromThen()
    {
        await Snapshots.SaveAsync("x/k", "first", 10);
        await Snapshots.MultiSaveAndRemoveWithPrefixAsync(new Dictionary<string, string>(), ["x/"], 20);
        await Snapshots.SaveAsync("x/k", "second", 30);
        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Snapshots.LoadAsync("x/k", 25));
        Assert.Equal("second", await Snapshots.LoadAsync("x/k", 30));
        Assert.Equal("first", await Snapshots.LoadAsync("x/k", 10));
    }

    [Fact]
    public async Task LoadWithPrefixAtATimestampListsTheValuesOfThenInKeyOrder()
    {
        await Snapshots.MultiSaveAsync(new Dictionary<string, string> { ["p/b"] = "b1", ["p/a"] = "a1", ["p10/x"] = "no" }, 10);
        await Snapshots.SaveAsync("p/a", "a2", 20);
        await Snapshots.SaveAsync("p/c", "c2", 20);

        var at15 = await Snapshots.LoadWithPrefixAsync("p/", 15);
        Assert.Equal(["p/a", "p/b"], at15.Keys);
        Assert.Equal(["a1", "b1"], at15.Values);
        var at20 = await Snapshots.LoadWithPrefixAsync("p/", 20);
        Assert.Equal(["p/a", "p/b", "p/c"], at20.Keys);
        Assert.Equal(["a2", "b1", "c2"], at20.Values);
    }

    [Fact]
    public async Task AKeyIsNotConfusedWithAKeyThatExtendsIt()
    {
        await Snapshots.SaveAsync("k", "short", 10);
        await Snapshots.SaveAsync("k_ts00000000000000000005", "long", 10);
        Assert.Equal("short", await Snapshots.LoadAsync("k", 10));
        Assert.Equal("long", await Snapshots.LoadAsync("k_ts00000000000000000005", 10));
        Assert.Equal(2, (await Snapshots.LoadWithPrefixAsync("k", 10)).Count);
    }

    [Fact]
    public async Task AdditionsAreSavedInTheSameStepWithTheirTimestamp()
    {
        SnapshotAddition addition = ts => new("meta/last-ts", ts.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Snapshots.MultiSaveAsync(new Dictionary<string, string> { ["a"] = "1" }, 42, [addition]);
        Assert.Equal("42", await Snapshots.LoadAsync("meta/last-ts", 42));
        Assert.Equal("42", await Txn.LoadAsync("meta/last-ts"));
    }

    [Fact]
    public async Task GcDropsExpiredVersionsButKeepsTheNewestBeforeTheHorizon()
    {
        await Snapshots.SaveAsync("k", "v10", 10);
        await Snapshots.SaveAsync("k", "v20", 20);
        await Snapshots.SaveAsync("k", "v30", 30);

        Assert.Equal(1, await Snapshots.GcAsync(25));

        Assert.Equal(2, (await Txn.LoadWithPrefixAsync(SnapshotKv.DefaultSnapshotPrefix + "/k_ts")).Count);
        Assert.Equal("v20", await Snapshots.LoadAsync("k", 25));
        Assert.Equal("v30", await Snapshots.LoadAsync("k", 30));
        Assert.Equal(0, await Snapshots.GcAsync(25));
    }

    [Fact]
    public async Task GcDropsEveryVersionOfAKeyRemovedBeforeTheHorizon()
    {
        await Snapshots.SaveAsync("gone/k", "v", 10);
        await Snapshots.SaveAsync("stays", "s", 10);
        await Snapshots.MultiSaveAndRemoveWithPrefixAsync(new Dictionary<string, string>(), ["gone/"], 20);

        Assert.Equal(2, await Snapshots.GcAsync(30));

        var versions = await Txn.LoadWithPrefixAsync(SnapshotKv.DefaultSnapshotPrefix + "/");
        Assert.Equal([SnapshotKv.DefaultSnapshotPrefix + "/stays_ts00000000000000000010"], versions.Keys);
        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Snapshots.LoadAsync("gone/k", 30));
        Assert.Equal("s", await Snapshots.LoadAsync("stays", 30));
    }

    [Fact]
    public async Task KeysAndPrefixesThatReachTheVersionsAreRefused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Snapshots.SaveAsync(SnapshotKv.DefaultSnapshotPrefix + "/x", "v", 1));
        await Assert.ThrowsAsync<ArgumentException>(() => Snapshots.MultiSaveAndRemoveWithPrefixAsync(new Dictionary<string, string>(), [""], 1));
        await Assert.ThrowsAsync<ArgumentException>(() => Snapshots.MultiSaveAndRemoveWithPrefixAsync(new Dictionary<string, string>(), ["snap"], 1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Snapshots.SaveAsync("k", "v", 0));
        Assert.Equal(0, (await Txn.LoadWithPrefixAsync("")).Count);
    }
}
