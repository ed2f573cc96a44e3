using Milvus.Domain.Kv;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Kv;

/// <summary>
/// The <see cref="IBaseKv"/> contract. Every backend is a one-line subclass that opens a store; each test works
/// under a fresh root path, so the shared servers need no cleanup between tests.
/// </summary>
public abstract class BaseKvContractTests : IAsyncLifetime
{
    private readonly List<IBaseKv> _opened = [];

    protected TempDirectory Temp { get; } = new();

    protected string RootPath { get; } = $"contract-{Guid.NewGuid():N}";

    protected IBaseKv Kv { get; private set; } = null!;

    /// <summary>Opens a store of the backend under test with its keys under <paramref name="rootPath"/>.</summary>
    protected abstract Task<IBaseKv> OpenAsync(string rootPath);

    protected async Task<IBaseKv> OpenTrackedAsync(string rootPath)
    {
        var kv = await OpenAsync(rootPath);
        _opened.Add(kv);
        return kv;
    }

    public async Task InitializeAsync() => Kv = await OpenTrackedAsync(RootPath);

    public async Task DisposeAsync()
    {
        foreach (var kv in _opened)
        {
            await kv.DisposeAsync();
        }
        Temp.Dispose();
    }

    [Fact]
    public async Task LoadOfAMissingKeyThrowsKeyNotFound()
    {
        var error = await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Kv.LoadAsync("missing"));
        Assert.Equal(["missing"], error.Keys);
    }

    [Fact]
    public async Task LoadReturnsTheLastSavedValue()
    {
        await Kv.SaveAsync("key", "first");
        await Kv.SaveAsync("key", "second");
        Assert.Equal("second", await Kv.LoadAsync("key"));
    }

    [Fact]
    public async Task ValuesRoundTripUnicodeAndEmptyText()
    {
        await Kv.MultiSaveAsync(new Dictionary<string, string> { ["empty"] = "", ["unicode"] = "héllo ✓ 😀\nline" });
        Assert.Equal("", await Kv.LoadAsync("empty"));
        Assert.Equal("héllo ✓ 😀\nline", await Kv.LoadAsync("unicode"));
    }

    [Fact]
    public async Task MultiLoadReturnsTheValuesInTheRequestedOrder()
    {
        await Kv.MultiSaveAsync(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2", ["c"] = "3" });
        Assert.Equal(["3", "1", "2"], await Kv.MultiLoadAsync(["c", "a", "b"]));
    }

    [Fact]
    public async Task MultiLoadNamesEveryMissingKey()
    {
        await Kv.SaveAsync("present", "v");
        var error = await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Kv.MultiLoadAsync(["x", "present", "y"]));
        Assert.Equal(["x", "y"], error.Keys);
    }

    [Fact]
    public async Task RemovingAMissingKeySucceeds()
    {
        await Kv.SaveAsync("kept", "v");
        await Kv.RemoveAsync("never-saved");
        await Kv.MultiRemoveAsync(["never-saved", "also-never"]);
        Assert.Equal("v", await Kv.LoadAsync("kept"));
    }

    [Fact]
    public async Task RemoveDeletesTheKey()
    {
        await Kv.SaveAsync("key", "v");
        await Kv.RemoveAsync("key");
        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Kv.LoadAsync("key"));
    }

    [Fact]
    public async Task AnEmptyKeyIsAnArgumentError()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.LoadAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.SaveAsync("", "v"));
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.RemoveAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.MultiLoadAsync(["a", ""]));
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.MultiSaveAsync(new Dictionary<string, string> { ["a"] = "1", [""] = "2" }));
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.MultiRemoveAsync([""]));
        Assert.Equal(0, (await Kv.LoadWithPrefixAsync("")).Count);
    }

    [Fact]
    public async Task LoadWithPrefixListsKeysInOrdinalOrder()
    {
        string[] keys = ["b", "a", "B", "a/b", "aa", "a0", "a-", "é", "Z9"];
        await Kv.MultiSaveAsync(keys.ToDictionary(k => k, k => "v" + k));
        var pairs = await Kv.LoadWithPrefixAsync("");
        var expected = keys.Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, pairs.Keys);
        Assert.Equal(expected.Select(k => "v" + k), pairs.Values);
    }

    [Fact]
    public async Task APrefixLoadDoesNotMatchLongerNeighbours()
    {
        await Kv.MultiSaveAsync(new Dictionary<string, string> { ["test1/a"] = "1", ["test10/a"] = "10", ["test1"] = "bare" });
        var pairs = await Kv.LoadWithPrefixAsync("test1/");
        Assert.Equal(["test1/a"], pairs.Keys);
        Assert.Equal(["1"], pairs.Values);
    }

    [Fact]
    public async Task RemoveWithPrefixLeavesLongerNeighbours()
    {
        await Kv.MultiSaveAsync(new Dictionary<string, string> { ["a/x"] = "1", ["a/y/z"] = "2", ["ab"] = "3", ["a"] = "4" });
        await Kv.RemoveWithPrefixAsync("a/");
        Assert.Equal(["a", "ab"], (await Kv.LoadWithPrefixAsync("")).Keys);
    }

    [Fact]
    public async Task MultiRemoveRemovesOnlyTheNamedKeys()
    {
        await Kv.MultiSaveAsync(new Dictionary<string, string> { ["k1"] = "1", ["k2"] = "2", ["k3"] = "3" });
        await Kv.MultiRemoveAsync(["k1", "k3"]);
        Assert.Equal(["k2"], (await Kv.LoadWithPrefixAsync("k")).Keys);
    }

    [Fact]
    public async Task KeysUnderOneRootPathAreInvisibleUnderAnother()
    {
        var other = await OpenTrackedAsync(RootPath + "-other");
        await Kv.SaveAsync("shared-name", "mine");
        await other.SaveAsync("theirs", "t");
        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => other.LoadAsync("shared-name"));
        Assert.Equal(["shared-name"], (await Kv.LoadWithPrefixAsync("")).Keys);
        Assert.Equal(["theirs"], (await other.LoadWithPrefixAsync("")).Keys);
    }
}
