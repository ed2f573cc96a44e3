using Milvus.Domain.Kv;

namespace Milvus.Tests.Kv;

/// <summary>
/// The <see cref="IMetaKv"/> contract. Every backend runs these same assertions; each test works under its own
/// root path, so runs and backends never see each other's keys.
/// </summary>
public abstract class MetaKvContractTests : IAsyncLifetime
{
    /// <summary>How long a test waits for something that should happen (never a measure of speed).</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>A lease TTL that etcd accepts as is (its minimum is about 2 s).</summary>
    private const long ShortTtlSeconds = 2;

    protected IMetaKv Kv { get; set; } = null!;

    protected string Root { get; } = $"metakv-test-{Guid.NewGuid():N}";

    /// <summary>Opens the backend with every key under <paramref name="root"/>.</summary>
    protected abstract Task<IMetaKv> OpenAsync(string root);

    /// <summary>Lets lease time pass: a fake clock moves on; a real backend's clock moves by itself.</summary>
    protected abstract void AdvanceTime(TimeSpan by);

    /// <summary>Drops the backend's watch history before <paramref name="revision"/>.</summary>
    protected abstract Task CompactAsync(long revision);

    public async Task InitializeAsync() => Kv = await OpenAsync(Root);

    public virtual async Task DisposeAsync()
    {
        await Kv.RemoveWithPrefixAsync("");
        await Kv.DisposeAsync();
    }

    [Fact]
    public async Task LoadOfAMissingKeyIsATypedNotFoundError()
    {
        var error = await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Kv.LoadAsync("missing"));
        Assert.Equal(["missing"], error.Keys);
    }

    [Fact]
    public async Task MultiLoadNamesEveryMissingKey()
    {
        await Kv.MultiSaveAsync(new Dictionary<string, string> { ["a"] = "1", ["c"] = "3" });

        Assert.Equal(["1", "3"], await Kv.MultiLoadAsync(["a", "c"]));
        var error = await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Kv.MultiLoadAsync(["a", "b", "c", "d"]));
        Assert.Equal(["b", "d"], error.Keys);
    }

    [Fact]
    public async Task RemovingAMissingKeySucceeds()
    {
        await Kv.RemoveAsync("never-saved");
        await Kv.MultiRemoveAsync(["never-saved", "nor-this"]);

        Assert.Equal(0, (await Kv.LoadWithPrefixAsync("")).Count);
    }

    [Fact]
    public async Task AnEmptyKeyIsAnArgumentErrorEverywhere()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.LoadAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.SaveAsync("", "v"));
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.RemoveAsync(""));
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.CompareVersionAndSwapAsync("", 0, "v"));
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.CompareValueAndSwapAsync("", "a", "b"));
        var lease = await Kv.GrantAsync(60);
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.SaveWithLeaseAsync("", "v", lease));
        Assert.Throws<ArgumentException>(() => Kv.WatchAsync(""));
    }

    [Fact]
    public async Task PrefixLoadsDoNotMatchLongerNeighbours()
    {
        await Kv.MultiSaveAsync(new Dictionary<string, string> { ["test1/a"] = "1a", ["test1/b"] = "1b", ["test10/a"] = "10a", ["test1"] = "bare" });

        var pairs = await Kv.LoadWithPrefixAsync("test1/");
        Assert.Equal(["test1/a", "test1/b"], pairs.Keys);
        Assert.Equal(["1a", "1b"], pairs.Values);

        await Kv.RemoveWithPrefixAsync("test1/");
        Assert.Equal(["test1", "test10/a"], (await Kv.LoadWithPrefixAsync("test1")).Keys);
    }

    [Fact]
    public async Task KeysSortBytewise()
    {
        await Kv.MultiSaveAsync(new Dictionary<string, string> { ["s/b"] = "", ["s/B"] = "", ["s/a"] = "", ["s/_"] = "", ["s/A"] = "" });

        Assert.Equal(["s/A", "s/B", "s/_", "s/a", "s/b"], (await Kv.LoadWithPrefixAsync("s/")).Keys);
    }

    [Fact]
    public async Task ATransactionWithAnInvalidPartAppliesNothing()
    {
        await Kv.SaveAsync("keep", "old");

        await Assert.ThrowsAsync<ArgumentException>(() => Kv.MultiSaveAndRemoveAsync(
            new Dictionary<string, string> { ["keep"] = "new", ["fresh"] = "1" }, ["keep"]));
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.MultiSaveAndRemoveWithPrefixAsync(
            new Dictionary<string, string> { ["fresh"] = "1", ["under/x"] = "2" }, ["under/"]));
        await Assert.ThrowsAsync<ArgumentException>(() => Kv.MultiSaveAsync(
            new Dictionary<string, string> { ["fresh"] = "1", [""] = "2" }));

        Assert.Equal("old", await Kv.LoadAsync("keep"));
        Assert.Equal(["keep"], (await Kv.LoadWithPrefixAsync("")).Keys);
    }

    [Fact]
    public async Task MultiSaveAndRemoveWithPrefixAppliesBothSidesAtOneRevision()
    {
        await Kv.MultiSaveAsync(new Dictionary<string, string> { ["old/1"] = "a", ["old/2"] = "b", ["other"] = "c" });
        var before = await Kv.LoadWithRevisionAsync("");

        await Kv.MultiSaveAndRemoveWithPrefixAsync(new Dictionary<string, string> { ["new/1"] = "x" }, ["old/"]);

        var events = await CollectEventsAsync(Kv.WatchWithRevisionAsync("", before.Revision + 1), 3);
        Assert.Single(events.Select(e => e.ModRevision).Distinct());
        Assert.Equal(["new/1", "other"], (await Kv.LoadWithPrefixAsync("")).Keys);
    }

    [Fact]
    public async Task LoadWithPrefix2ReturnsEachKeysVersion()
    {
        await Kv.SaveAsync("v/a", "1");
        await Kv.SaveAsync("v/a", "2");
        await Kv.SaveAsync("v/a", "3");
        await Kv.SaveAsync("v/b", "1");
        await Kv.SaveAsync("v/c", "1");
        await Kv.RemoveAsync("v/c");
        await Kv.SaveAsync("v/c", "again");

        var pairs = await Kv.LoadWithPrefix2Async("v/");

        Assert.Equal(["v/a", "v/b", "v/c"], pairs.Keys);
        Assert.Equal(["3", "1", "again"], pairs.Values);
        Assert.Equal([3L, 1L, 1L], pairs.Versions);
    }

    [Fact]
    public async Task EveryWriteRaisesTheRevisionAndReadsReportIt()
    {
        var start = (await Kv.LoadWithRevisionAsync("r/")).Revision;
        await Kv.SaveAsync("r/a", "1");
        var afterOne = await Kv.LoadWithRevisionAsync("r/");
        await Kv.MultiSaveAsync(new Dictionary<string, string> { ["r/b"] = "2", ["r/c"] = "3" });
        var afterTwo = await Kv.LoadWithRevisionAsync("r/");

        Assert.True(afterOne.Revision > start);
        Assert.True(afterTwo.Revision > afterOne.Revision);
        Assert.Equal(["r/a", "r/b", "r/c"], afterTwo.Pairs.Keys);
        Assert.EndsWith("r/a", Kv.GetPath("r/a"), StringComparison.Ordinal);
        Assert.StartsWith(Root, Kv.GetPath("r/a"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWatchFromAnOldRevisionReplaysTheMissedEventsThenFollowsLive()
    {
        var listed = await Kv.LoadWithRevisionAsync("w/");
        await Kv.SaveAsync("w/a", "1");
        await Kv.SaveAsync("w/b", "2");
        await Kv.SaveAsync("w/a", "3");
        await Kv.RemoveAsync("w/b");
        await Kv.SaveAsync("elsewhere", "x");

        var watch = CollectEventsAsync(Kv.WatchWithRevisionAsync("w/", listed.Revision + 1), 5);
        await Kv.SaveAsync("w/c", "live");
        var events = await watch;

        Assert.Equal(
            [(KvEventType.Put, "w/a", "1"), (KvEventType.Put, "w/b", "2"), (KvEventType.Put, "w/a", "3"), (KvEventType.Delete, "w/b", ""), (KvEventType.Put, "w/c", "live")],
            events.Select(e => (e.Type, e.Key, e.Value)));
        Assert.Equal("2", events[3].PreviousValue);
        Assert.Equal([1L, 1L, 2L, 0L, 1L], events.Select(e => e.Version));
        Assert.Equal(events.Select(e => e.ModRevision).Order(), events.Select(e => e.ModRevision));
        Assert.Equal(events[0].ModRevision, events[2].CreateRevision);
    }

    [Fact]
    public async Task AWatchFromACompactedRevisionAsksTheCallerToListAgain()
    {
        await Kv.SaveAsync("c/x", "1");
        var first = (await Kv.LoadWithRevisionAsync("c/")).Revision;
        await Kv.SaveAsync("c/x", "2");
        await Kv.SaveAsync("c/x", "3");
        var last = (await Kv.LoadWithRevisionAsync("c/")).Revision;
        await CompactAsync(last);

        var error = await Assert.ThrowsAsync<KvWatchCompactedException>(() => CollectEventsAsync(Kv.WatchWithRevisionAsync("c/", first), 1));
        Assert.Equal(last, error.CompactRevision);

        var relisted = await Kv.LoadWithRevisionAsync("c/");
        Assert.Equal(["3"], relisted.Pairs.Values);
        var watch = CollectEventsAsync(Kv.WatchWithRevisionAsync("c/", relisted.Revision + 1), 1);
        await Kv.SaveAsync("c/x", "4");
        Assert.Equal("4", Assert.Single(await watch).Value);
    }

    [Fact]
    public async Task AKeyWatchSeesItsKeyOnlyAndAPrefixWatchItsPrefixOnly()
    {
        using var stop = new CancellationTokenSource(Patience);
        var keyEvents = new WatchRecorder(Kv.WatchAsync("k/1", stop.Token));
        var prefixEvents = new WatchRecorder(Kv.WatchWithPrefixAsync("p/1/", stop.Token));
        await keyEvents.WaitUntilLiveAsync(() => Kv.SaveAsync("k/1", "probe"));
        await prefixEvents.WaitUntilLiveAsync(() => Kv.SaveAsync("p/1/probe", "probe"));

        await Kv.SaveAsync("k/10", "neighbour");
        await Kv.SaveAsync("p/10/x", "neighbour");
        await Kv.SaveAsync("k/1", "v1");
        await Kv.SaveAsync("p/1/x", "v1");
        await Kv.RemoveAsync("k/1");
        await Kv.RemoveAsync("p/1/x");

        var keyTail = await keyEvents.NextAsync(2);
        var prefixTail = await prefixEvents.NextAsync(2);
        Assert.Equal([(KvEventType.Put, "k/1", "v1"), (KvEventType.Delete, "k/1", "")], keyTail.Select(e => (e.Type, e.Key, e.Value)));
        Assert.Equal([(KvEventType.Put, "p/1/x", "v1"), (KvEventType.Delete, "p/1/x", "")], prefixTail.Select(e => (e.Type, e.Key, e.Value)));
        await stop.CancelAsync();
        await keyEvents.StopAsync();
        await prefixEvents.StopAsync();
    }

    [Fact]
    public async Task AnExpiredLeaseRemovesItsKeysAndAWatcherSeesTheDelete()
    {
        var lease = await Kv.GrantAsync(ShortTtlSeconds);
        await Kv.SaveWithLeaseAsync("lease/a", "1", lease);
        await Kv.SaveWithLeaseAsync("lease/b", "2", lease);
        await Kv.SaveAsync("lease/plain", "stays");
        var listed = await Kv.LoadWithRevisionAsync("lease/");
        Assert.Equal(3, listed.Pairs.Count);

        var deletes = CollectEventsAsync(Kv.WatchWithRevisionAsync("lease/", listed.Revision + 1), 2);
        AdvanceTime(TimeSpan.FromSeconds(ShortTtlSeconds + 1));
        var events = await deletes;

        Assert.All(events, e => Assert.Equal(KvEventType.Delete, e.Type));
        Assert.Equal(["lease/a", "lease/b"], events.Select(e => e.Key).Order(StringComparer.Ordinal));
        Assert.Equal(["lease/plain"], (await Kv.LoadWithPrefixAsync("lease/")).Keys);
        await Assert.ThrowsAsync<KvLeaseNotFoundException>(() => Kv.SaveWithLeaseAsync("lease/c", "3", lease));
    }

    [Fact]
    public async Task KeepAlivePreventsExpiry()
    {
        // A TTL of 3 s leaves 2 s of slack for a refresh delayed on a busy machine.
        const long ttl = ShortTtlSeconds + 1;
        var lease = await Kv.GrantAsync(ttl);
        await Kv.SaveWithLeaseAsync("alive/a", "1", lease);
        var interval = TimeSpan.FromSeconds(ttl) / 3;

        await using (var keepAlive = Kv.KeepAliveAsync(lease).GetAsyncEnumerator())
        {
            Assert.True(await keepAlive.MoveNextAsync().AsTask().WaitAsync(Patience));
            // Seven refreshes a third of the TTL apart span more than twice the TTL.
            for (var i = 0; i < 7; i++)
            {
                var next = keepAlive.MoveNextAsync().AsTask();
                AdvanceTime(interval);
                Assert.True(await next.WaitAsync(Patience));
                Assert.Equal(lease, keepAlive.Current.LeaseId);
                Assert.True(keepAlive.Current.TtlSeconds >= ttl);
            }
        }

        Assert.Equal("1", await Kv.LoadAsync("alive/a"));
        await Kv.RevokeAsync(lease);
    }

    [Fact]
    public async Task RevokeRemovesTheKeysAndKeepAliveThenReportsTheLeaseGone()
    {
        var lease = await Kv.GrantAsync(60);
        await Kv.SaveWithLeaseAsync("revoke/a", "1", lease);

        await Kv.RevokeAsync(lease);
        await Kv.RevokeAsync(lease);

        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Kv.LoadAsync("revoke/a"));
        await Assert.ThrowsAsync<KvLeaseNotFoundException>(async () =>
        {
            await foreach (var _ in Kv.KeepAliveAsync(lease).WithCancellation(new CancellationTokenSource(Patience).Token))
            {
            }
        });
    }

    [Fact]
    public async Task APlainSaveDetachesAKeyFromItsLease()
    {
        var lease = await Kv.GrantAsync(60);
        await Kv.SaveWithLeaseAsync("detach/a", "leased", lease);
        await Kv.SaveAsync("detach/a", "plain");

        await Kv.RevokeAsync(lease);

        Assert.Equal("plain", await Kv.LoadAsync("detach/a"));
    }

    [Fact]
    public async Task CompareVersionAndSwapWithVersionZeroIsPutIfAbsent()
    {
        Assert.True(await Kv.CompareVersionAndSwapAsync("cas/v", 0, "first"));
        Assert.False(await Kv.CompareVersionAndSwapAsync("cas/v", 0, "second"));
        Assert.Equal("first", await Kv.LoadAsync("cas/v"));

        Assert.True(await Kv.CompareVersionAndSwapAsync("cas/v", 1, "third"));
        Assert.False(await Kv.CompareVersionAndSwapAsync("cas/v", 1, "fourth"));
        Assert.Equal("third", await Kv.LoadAsync("cas/v"));
    }

    [Fact]
    public async Task CompareValueAndSwapOnlyReplacesTheExpectedValue()
    {
        Assert.False(await Kv.CompareValueAndSwapAsync("cas/x", "", "created"));
        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Kv.LoadAsync("cas/x"));

        await Kv.SaveAsync("cas/x", "a");
        Assert.False(await Kv.CompareValueAndSwapAsync("cas/x", "b", "c"));
        Assert.True(await Kv.CompareValueAndSwapAsync("cas/x", "a", "c"));
        Assert.Equal("c", await Kv.LoadAsync("cas/x"));
    }

    [Fact]
    public async Task OfConcurrentSwapsOnTheSameVersionExactlyOneWins()
    {
        await Kv.SaveAsync("race/counter", "0");
        var version = (await Kv.LoadWithPrefix2Async("race/counter")).Versions[0];

        var attempts = Enumerable.Range(1, 8).Select(i => Task.Run(() => Kv.CompareVersionAndSwapAsync("race/counter", version, $"winner-{i}"))).ToList();
        var results = await Task.WhenAll(attempts);

        var winner = Assert.Single(results.Select((won, i) => (won, i)), r => r.won);
        Assert.Equal($"winner-{winner.i + 1}", await Kv.LoadAsync("race/counter"));
        Assert.Equal([version + 1], (await Kv.LoadWithPrefix2Async("race/counter")).Versions);
    }

    [Fact]
    public async Task ACasCanBindTheNewValueToALease()
    {
        var lease = await Kv.GrantAsync(60);
        Assert.True(await Kv.CompareVersionAndSwapAsync("cas/leased", 0, "mine", lease));

        await Kv.RevokeAsync(lease);

        await Assert.ThrowsAsync<KvKeyNotFoundException>(() => Kv.LoadAsync("cas/leased"));
        await Assert.ThrowsAsync<KvLeaseNotFoundException>(() => Kv.CompareVersionAndSwapAsync("cas/leased", 0, "again", lease));
    }

    /// <summary>Reads a watch until <paramref name="count"/> events have arrived.</summary>
    protected static async Task<List<KvEvent>> CollectEventsAsync(IAsyncEnumerable<KvWatchResponse> watch, int count)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var events = new List<KvEvent>();
        await foreach (var response in watch.WithCancellation(timeout.Token))
        {
            events.AddRange(response.Events);
            if (events.Count >= count)
            {
                break;
            }
        }
        return events;
    }
}
