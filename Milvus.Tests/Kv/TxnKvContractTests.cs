using Milvus.Domain.Kv;

namespace Milvus.Tests.Kv;

/// <summary>The <see cref="ITxnKv"/> contract: the base contract plus atomic multi-key steps.</summary>
public abstract class TxnKvContractTests : BaseKvContractTests
{
    protected ITxnKv Txn => (ITxnKv)Kv;

    [Fact]
    public async Task MultiSaveAndRemoveSavesAndRemovesTogether()
    {
        await Txn.MultiSaveAsync(new Dictionary<string, string> { ["old1"] = "1", ["old2"] = "2" });
        await Txn.MultiSaveAndRemoveAsync(new Dictionary<string, string> { ["new"] = "n" }, ["old1", "never"]);
        Assert.Equal(["new", "old2"], (await Txn.LoadWithPrefixAsync("")).Keys);
    }

    [Fact]
    public async Task AnInvalidRemovalInATxnAppliesNothing()
    {
        await Txn.SaveAsync("a", "1");
        await Assert.ThrowsAsync<ArgumentException>(() => Txn.MultiSaveAndRemoveAsync(new Dictionary<string, string> { ["x"] = "1" }, ["a", ""]));
        Assert.Equal(["a"], (await Txn.LoadWithPrefixAsync("")).Keys);
    }

    [Fact]
    public async Task AKeySavedAndRemovedInOneStepIsRefusedAndNothingApplies()
    {
        await Txn.SaveAsync("a", "1");
        await Assert.ThrowsAsync<ArgumentException>(() => Txn.MultiSaveAndRemoveAsync(new Dictionary<string, string> { ["a"] = "2", ["b"] = "2" }, ["a"]));
        Assert.Equal("1", await Txn.LoadAsync("a"));
        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Txn.LoadAsync("b"));
    }

    [Fact]
    public async Task MultiRemoveWithPrefixRemovesUnderEveryPrefixOnly()
    {
        await Txn.MultiSaveAsync(new Dictionary<string, string> { ["p/1"] = "1", ["p/2"] = "2", ["q/1"] = "3", ["pq"] = "4", ["r/1"] = "5" });
        await Txn.MultiRemoveWithPrefixAsync(["p/", "q/"]);
        Assert.Equal(["pq", "r/1"], (await Txn.LoadWithPrefixAsync("")).Keys);
    }

    [Fact]
    public async Task MultiSaveAndRemoveWithPrefixAppliesBoth()
    {
        await Txn.MultiSaveAsync(new Dictionary<string, string> { ["gone/1"] = "1", ["gone/2"] = "2", ["gone-not"] = "3" });
        await Txn.MultiSaveAndRemoveWithPrefixAsync(new Dictionary<string, string> { ["fresh"] = "f" }, ["gone/"]);
        var pairs = await Txn.LoadWithPrefixAsync("");
        Assert.Equal(["fresh", "gone-not"], pairs.Keys);
        Assert.Equal(["f", "3"], pairs.Values);
    }

    [Fact]
    public async Task ASaveUnderARemovedPrefixIsRefusedAndNothingApplies()
    {
        await Txn.SaveAsync("dir/a", "1");
        await Assert.ThrowsAsync<ArgumentException>(() =>
            Txn.MultiSaveAndRemoveWithPrefixAsync(new Dictionary<string, string> { ["dir/b"] = "2", ["other"] = "3" }, ["dir/"]));
        Assert.Equal(["dir/a"], (await Txn.LoadWithPrefixAsync("")).Keys);
    }

    [Fact]
    public async Task ReadersNeverSeeAHalfAppliedMultiSave()
    {
        await Txn.MultiSaveAsync(new Dictionary<string, string> { ["pair/a"] = "0", ["pair/b"] = "0" });
        var writer = Task.Run(async () =>
        {
            for (var i = 1; i <= 200; i++)
            {
                var value = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Txn.MultiSaveAndRemoveAsync(new Dictionary<string, string> { ["pair/a"] = value, ["pair/b"] = value }, []);
            }
        });
        var torn = new List<string>();
        while (!writer.IsCompleted)
        {
            var values = await Txn.MultiLoadAsync(["pair/a", "pair/b"]);
            if (values[0] != values[1])
            {
                torn.Add($"MultiLoad {values[0]} {values[1]}");
            }
            var pairs = await Txn.LoadWithPrefixAsync("pair/");
            if (pairs.Values[0] != pairs.Values[1])
            {
                torn.Add($"LoadWithPrefix {pairs.Values[0]} {pairs.Values[1]}");
            }
        }
        await writer;
        Assert.Empty(torn);
        Assert.Equal(["200", "200"], await Txn.MultiLoadAsync(["pair/a", "pair/b"]));
    }

    [Fact]
    public async Task APrefixLoadNeverSeesTheKeysOfOneMomentWithTheValuesOfAnother()
    {
        // Each step renames the moving key and rewrites the fixed one, together: a load that listed the keys
        // before a step and read the values after it would see one key, or a key without its value.
        await Txn.MultiSaveAsync(new Dictionary<string, string> { ["move/fixed"] = "0", ["move/k0000"] = "0" });
        var writer = Task.Run(async () =>
        {
            for (var i = 1; i <= 200; i++)
            {
                var value = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Txn.MultiSaveAndRemoveAsync(
                    new Dictionary<string, string> { ["move/fixed"] = value, [$"move/k{i:D4}"] = value }, [$"move/k{i - 1:D4}"]);
            }
        });
        var torn = new List<string>();
        while (!writer.IsCompleted)
        {
            var pairs = await Txn.LoadWithPrefixAsync("move/");
            if (pairs.Count != 2 || pairs.Values[0] != pairs.Values[1])
            {
                torn.Add(string.Join(' ', pairs.Keys.Zip(pairs.Values, (k, v) => $"{k}={v}")));
            }
        }
        await writer;
        Assert.Empty(torn);
        Assert.Equal(["move/fixed", "move/k0200"], (await Txn.LoadWithPrefixAsync("move/")).Keys);
    }

    [Fact]
    public async Task APrefixOfThousandsOfKeysLoadsAndRemovesWhole()
    {
        var many = Enumerable.Range(0, 2500).ToDictionary(i => $"big/{i:D5}", i => $"v{i}");
        await Txn.MultiSaveAsync(many);
        await Txn.SaveAsync("bigger", "stays");

        var pairs = await Txn.LoadWithPrefixAsync("big/");
        Assert.Equal(many.Keys.Order(StringComparer.Ordinal), pairs.Keys);
        Assert.Equal("v2499", pairs.Values[^1]);

        await Txn.RemoveWithPrefixAsync("big/");
        Assert.Equal(["bigger"], (await Txn.LoadWithPrefixAsync("big")).Keys);
    }
}
