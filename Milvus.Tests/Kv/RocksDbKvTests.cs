using Milvus.Domain.Kv;
using Milvus.Domain.Kv.RocksDb;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Kv;

/// <summary>What RocksDbKv promises beyond the contract: durability across a reopen, root paths, ranges.</summary>
public sealed class RocksDbKvTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task DataSurvivesACloseAndReopen()
    {
        var path = _temp.Combine("db");
        await using (var kv = RocksDbKv.Open(path, "root", sync: true))
        {
            await kv.MultiSaveAsync(new Dictionary<string, string> { ["a"] = "1", ["dir/b"] = "2", ["dir/c"] = "3" });
            await kv.RemoveWithPrefixAsync("dir/c");
        }
        await using (var reopened = RocksDbKv.Open(path, "root"))
        {
            var pairs = await reopened.LoadWithPrefixAsync("");
            Assert.Equal(["a", "dir/b"], pairs.Keys);
            Assert.Equal(["1", "2"], pairs.Values);
        }
    }

    [Fact]
    public async Task AnotherRootPathOnTheSameDatabaseSeesNothing()
    {
        var path = _temp.Combine("db");
        await using (var kv = RocksDbKv.Open(path, "one"))
        {
            await kv.SaveAsync("k", "v");
        }
        await using var other = RocksDbKv.Open(path, "one-two");
        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => other.LoadAsync("k"));
        Assert.Equal(0, (await other.LoadWithPrefixAsync("")).Count);
        Assert.Equal(0, other.LoadRange("", "", 0).Count);
    }

    [Fact]
    public async Task OpeningADatabaseThatIsAlreadyOpenIsUnavailable()
    {
        var path = _temp.Combine("db");
        await using var kv = RocksDbKv.Open(path);
        var error = Assert.Throws<KvUnavailableException>(() => RocksDbKv.Open(path));
        Assert.Equal("rocksdb", error.Backend);
    }

    [Fact]
    public async Task LoadRangeHonoursItsBoundsAndLimit()
    {
        await using var kv = RocksDbKv.Open(_temp.Combine("db"), "r");
        await kv.MultiSaveAsync(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2", ["c"] = "3", ["d"] = "4" });
        Assert.Equal(["b", "c"], kv.LoadRange("b", "d", 0).Keys);
        Assert.Equal(["b", "c", "d"], kv.LoadRange("b", "", 0).Keys);
        Assert.Equal(["a", "b"], kv.LoadRange("", "", 2).Keys);
    }

    [Fact]
    public async Task CompactionKeepsTheLiveKeys()
    {
        await using var kv = RocksDbKv.Open(_temp.Combine("db"));
        await kv.MultiSaveAsync(Enumerable.Range(0, 100).ToDictionary(i => $"p/{i:D3}", i => new string('x', 100)));
        await kv.RemoveWithPrefixAsync("p/00");
        kv.Compact("p/");
        Assert.Equal(90, (await kv.LoadWithPrefixAsync("p/")).Count);
    }

    [Fact]
    public async Task CallsAfterDisposeAreRefused()
    {
        var kv = RocksDbKv.Open(_temp.Combine("db"));
        await kv.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => kv.LoadAsync("k"));
    }
}
