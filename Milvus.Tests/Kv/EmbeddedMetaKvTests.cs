using Microsoft.Extensions.Time.Testing;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Embedded;
using Milvus.Domain.Kv.Memory;

namespace Milvus.Tests.Kv;

/// <summary>The <see cref="IMetaKv"/> contract on the in-process emulation over a <see cref="MemoryKv"/>, with a fake clock.</summary>
public sealed class EmbeddedMetaKvTests : MetaKvContractTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly MemoryKv _store = new("embedded");

    protected override async Task<IMetaKv> OpenAsync(string root) => await EmbeddedMetaKv.OpenAsync(_store, root, _time, ownsStore: false);

    protected override void AdvanceTime(TimeSpan by) => _time.Advance(by);

    protected override Task CompactAsync(long revision)
    {
        ((EmbeddedMetaKv)Kv).Compact(revision);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task DataRevisionsAndVersionsSurviveARestartButLeasedKeysDoNot()
    {
        var lease = await Kv.GrantAsync(60);
        await Kv.SaveAsync("p/a", "1");
        await Kv.SaveAsync("p/a", "2");
        await Kv.SaveWithLeaseAsync("p/leased", "gone after restart", lease);
        var before = await Kv.LoadWithRevisionAsync("p/");
        await Kv.DisposeAsync();

        var reopened = await EmbeddedMetaKv.OpenAsync(_store, Root, _time, ownsStore: false);
        Kv = reopened;

        var after = await reopened.LoadWithRevisionAsync("p/");
        Assert.Equal(["p/a"], after.Pairs.Keys);
        Assert.True(after.Revision > before.Revision);
        await reopened.SaveAsync("p/a", "3");
        Assert.Equal([3L], (await reopened.LoadWithPrefix2Async("p/")).Versions);
        var error = await Assert.ThrowsAsync<KvWatchCompactedException>(() => CollectEventsAsync(reopened.WatchWithRevisionAsync("p/", before.Revision + 1), 1));
        Assert.Equal(after.Revision + 1, error.CompactRevision);
        await Assert.ThrowsAsync<KvLeaseNotFoundException>(() => reopened.SaveWithLeaseAsync("p/b", "x", lease));
        Assert.NotEqual(lease, await reopened.GrantAsync(60));
    }

    [Fact]
    public async Task AWatcherThatFallsTooFarBehindIsCancelledAsCompactedWithoutBlockingWriters()
    {
        await using var kv = await EmbeddedMetaKv.OpenAsync(new MemoryKv(), "slow", _time, new EmbeddedMetaKvOptions { WatcherCapacity = 2 });
        var start = (await kv.LoadWithRevisionAsync("")).Revision;
        await using var watch = kv.WatchWithRevisionAsync("", start + 1).GetAsyncEnumerator();
        var first = watch.MoveNextAsync();

        for (var i = 0; i < 10; i++)
        {
            await kv.SaveAsync("k", i.ToString(System.Globalization.CultureInfo.InvariantCulture)).WaitAsync(Patience);
        }

        var error = await Assert.ThrowsAsync<KvWatchCompactedException>(async () =>
        {
            await first;
            while (await watch.MoveNextAsync())
            {
            }
        });
        Assert.True(error.CompactRevision > start + 1);
        Assert.Equal("9", await kv.LoadAsync("k"));
    }

    [Fact]
    public async Task AWatchFromBeforeTheBoundedHistoryIsCompacted()
    {
        await using var kv = await EmbeddedMetaKv.OpenAsync(new MemoryKv(), "history", _time, new EmbeddedMetaKvOptions { HistoryEvents = 3 });
        var start = (await kv.LoadWithRevisionAsync("")).Revision;
        for (var i = 0; i < 5; i++)
        {
            await kv.SaveAsync($"k{i}", "v");
        }

        await Assert.ThrowsAsync<KvWatchCompactedException>(() => CollectEventsAsync(kv.WatchWithRevisionAsync("", start + 1), 1));
        var replayed = await CollectEventsAsync(kv.WatchWithRevisionAsync("", start + 3), 3);
        Assert.Equal(["k2", "k3", "k4"], replayed.Select(e => e.Key));
    }

    [Fact]
    public async Task ALeaseExpiresWithoutAnyOtherOperation()
    {
        var lease = await Kv.GrantAsync(5);
        await Kv.SaveWithLeaseAsync("quiet/a", "1", lease);
        var listed = await Kv.LoadWithRevisionAsync("quiet/");
        var deleted = CollectEventsAsync(Kv.WatchWithRevisionAsync("quiet/", listed.Revision + 1), 1);

        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(deleted.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(KvEventType.Delete, Assert.Single(await deleted).Type);
    }
}
