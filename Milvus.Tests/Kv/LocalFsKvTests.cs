using Milvus.Domain.Kv.LocalFs;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Kv;

/// <summary>What LocalFsKv promises beyond the contract: keys cannot escape its directory, and saves are whole.</summary>
public sealed class LocalFsKvTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task KeysThatLookLikePathsStayInsideTheDirectory()
    {
        string[] keys = ["../escape", "a/../../b", "/abs", ".hidden", "a//b", "..", ".", "x/", "con:*?\"<>|", "~tilde~", "%41"];
        await using var kv = new LocalFsKv(_temp.Combine("store"), "root");
        await kv.MultiSaveAsync(keys.ToDictionary(k => k, k => "v" + k));

        Assert.Equal(["store"], Directory.GetFileSystemEntries(_temp.Path).Select(Path.GetFileName));
        var pairs = await kv.LoadWithPrefixAsync("");
        Assert.Equal(keys.Order(StringComparer.Ordinal), pairs.Keys);
        foreach (var key in keys)
        {
            Assert.Equal("v" + key, await kv.LoadAsync(key));
        }
    }

    [Fact]
    public async Task ASaveLeavesOnlyTheValueFileBehind()
    {
        await using var kv = new LocalFsKv(_temp.Combine("store"));
        await kv.SaveAsync("dir/key", "one");
        await kv.SaveAsync("dir/key", "two");
        var files = Directory.GetFiles(_temp.Combine("store"), "*", SearchOption.AllDirectories);
        Assert.Single(files);
        Assert.Equal("two", await File.ReadAllTextAsync(files[0]));
    }

    [Fact]
    public async Task RemovingTheLastKeyOfADirectoryPrunesIt()
    {
        await using var kv = new LocalFsKv(_temp.Combine("store"));
        await kv.SaveAsync("deep/er/key", "v");
        await kv.RemoveWithPrefixAsync("deep/");
        Assert.Empty(Directory.GetFileSystemEntries(_temp.Combine("store")));
        await kv.SaveAsync("deep/er/key", "again");
        Assert.Equal("again", await kv.LoadAsync("deep/er/key"));
    }

    [Fact]
    public async Task SavesRacingRemovalsOfTheirDirectoryAllComplete()
    {
        await using var kv = new LocalFsKv(_temp.Combine("store"));
        var saver = Task.Run(async () =>
        {
            for (var i = 0; i < 300; i++)
            {
                await kv.SaveAsync($"d/e/k{i % 5}", "v");
            }
        });
        var remover = Task.Run(async () =>
        {
            for (var i = 0; i < 300; i++)
            {
                await kv.RemoveWithPrefixAsync("d/");
            }
        });
        await Task.WhenAll(saver, remover);
        await kv.SaveAsync("d/e/final", "last");
        Assert.Equal("last", await kv.LoadAsync("d/e/final"));
        Assert.DoesNotContain(Directory.GetFiles(_temp.Combine("store"), "*", SearchOption.AllDirectories), f => Path.GetFileName(f).StartsWith('.'));
    }
}
