using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Milvus.Domain.Archive;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.LocalFs;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Streams;
using Milvus.Tests.Infrastructure;
using Milvus.Tests.Mq.RocksMq;
using Milvus.Tests.Tso;

namespace Milvus.Tests.Archive;

/// <summary>The archive supervisor and its graphs over a real RocksMQ, a local object store and a meta store that can fail.</summary>
public sealed class ArchiveGraphTests : IAsyncLifetime
{
    private const string Channel = "ch";
    private readonly TempDirectory _objectsDir = new();
    private readonly FaultyKv _meta = new();
    private RocksMqHost _host = null!;
    private LocalFsKv _objects = null!;
    private SegmentCatalog _catalog = null!;
    private long _nextId = 1;
    private ulong _ts = 1_000_000;

    public async Task InitializeAsync()
    {
        _host = await RocksMqHost.StartAsync();
        _objects = new LocalFsKv(_objectsDir.Path);
        _catalog = new SegmentCatalog(_meta, _objects);
        await _host.Mq.CreateChannelAsync(Channel);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _objectsDir.Dispose();
    }

    [Fact]
    public async Task ASegmentWrittenButNotRecordedIsWrittenAgainUnderTheSameKeyAndRecordedOnce()
    {
        await using var supervisor = Supervisor(new ArchiveOptions { Enabled = true, MaxSegmentMs = 600_000 }, TimeProvider.System);
        var first = await ProduceAsync(10, flush: true);
        await supervisor.SyncAsync(CancellationToken.None);
        await EventuallyAsync(async () => (await _catalog.ListSegmentsAsync(Channel, default)).Count == 1);

        _meta.FailSaves = true;
        var second = await ProduceAsync(10, flush: true);
        await EventuallyAsync(() => Task.FromResult(supervisor.RunningChannels.Count == 0));
        var orphans = await _objects.LoadWithPrefixAsync($"archive/{Channel}/");
        var failed = Assert.Single(supervisor.GetStates(0));
        _meta.FailSaves = false;
        await supervisor.SyncAsync(CancellationToken.None);
        await EventuallyAsync(async () => (await _catalog.ListSegmentsAsync(Channel, default)).Count == 2);

        Assert.Equal(2, orphans.Count);
        Assert.Equal(StateCode.Abnormal, failed.StateCode);
        Assert.Contains(failed.ExtraInfo, e => e.Key == "error");
        var segments = await _catalog.ListSegmentsAsync(Channel, default);
        Assert.Equal(orphans.Keys[1], segments[1].ObjectKey);
        Assert.Equal(2, (await _objects.LoadWithPrefixAsync($"archive/{Channel}/")).Count);
        var archived = new List<long>();
        foreach (var segment in segments)
        {
            archived.AddRange((await _catalog.ReadMsgsAsync(Channel, segment.SegmentId, default)).Select(m => m.Id));
        }
        Assert.Equal(first.Concat(second), archived);
        Assert.Equal(StateCode.Healthy, Assert.Single(supervisor.GetStates(0)).StateCode);
    }

    [Fact]
    public async Task TheTimeThresholdCutsASegmentAtTheFirstTickAfterItPasses()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_000));
        await using var supervisor = Supervisor(new ArchiveOptions { Enabled = true, MaxSegmentMs = 1_000 }, time);
        await supervisor.SyncAsync(CancellationToken.None);

        var ids = await ProduceAsync(5, flush: false);
        await BufferStepsAsync(supervisor, 1);
        time.Advance(TimeSpan.FromMilliseconds(500));
        await ProduceAsync(0, flush: false);
        await BufferStepsAsync(supervisor, 2);
        var early = await _catalog.ListSegmentsAsync(Channel, default);
        time.Advance(TimeSpan.FromMilliseconds(600));
        await ProduceAsync(0, flush: false);
        await EventuallyAsync(async () => (await _catalog.ListSegmentsAsync(Channel, default)).Count == 1);

        Assert.Empty(early);
        var segment = Assert.Single(await _catalog.ListSegmentsAsync(Channel, default));
        Assert.Equal(5, segment.NumMsgs);
        Assert.Equal(ids, (await _catalog.ReadMsgsAsync(Channel, 1, default)).Select(m => m.Id));
    }

    [Fact]
    public async Task ADestroyedChannelLosesItsGraphAndANewChannelGetsOne()
    {
        await using var supervisor = Supervisor(new ArchiveOptions { Enabled = true }, TimeProvider.System);
        await supervisor.SyncAsync(CancellationToken.None);
        var before = supervisor.RunningChannels;

        await _host.Mq.CreateChannelAsync("other");
        await _host.Mq.DestroyChannelAsync(Channel);
        await supervisor.SyncAsync(CancellationToken.None);

        Assert.Equal([Channel], before);
        Assert.Equal(["other"], supervisor.RunningChannels);
        Assert.Equal("archiver/other", Assert.Single(supervisor.GetStates(0)).Role);
    }

    [Fact]
    public async Task AChannelMadeAgainWhileItsPurgeIsPendingGetsOneGraphOfItsOwnOnceThePurgeIsDone()
    {
        await using var supervisor = Supervisor(new ArchiveOptions { Enabled = true }, TimeProvider.System);
        await supervisor.SyncAsync(CancellationToken.None);
        var before = supervisor.RunningChannels;

        _meta.FailSaves = true;
        await Assert.ThrowsAsync<KvUnavailableException>(() =>
            supervisor.DestroyChannelsAsync([Channel], token => _host.Mq.DestroyChannelAsync(Channel, token), CancellationToken.None));
        await _host.Mq.CreateChannelAsync(Channel);
        await supervisor.SyncAsync(CancellationToken.None);
        var whilePending = supervisor.RunningChannels;
        var pendingState = Assert.Single(supervisor.GetStates(0));
        _meta.FailSaves = false;
        await supervisor.SyncAsync(CancellationToken.None);

        Assert.Equal([Channel], before);
        Assert.Empty(whilePending);
        Assert.Equal(StateCode.Abnormal, pendingState.StateCode);
        Assert.Contains(pendingState.ExtraInfo, e => e.Key == "error");
        Assert.Equal([Channel], supervisor.RunningChannels);
        Assert.Equal(StateCode.Healthy, Assert.Single(supervisor.GetStates(0)).StateCode);
    }

    private ArchiveSupervisor Supervisor(ArchiveOptions options, TimeProvider time) => new(
        new MsgStreamFactory(_host.Mq, TimeProvider.System, NullLoggerFactory.Instance),
        _host.Mq,
        _catalog,
        new ArchivePurger(_catalog, _host.Mq, NullLogger<ArchivePurger>.Instance),
        Options.Create(options),
        time,
        NullLogger<ArchiveSupervisor>.Instance);

    /// <summary>Produces <paramref name="inserts"/> Inserts, optionally a Flush, then a TimeTick; returns the msg ids.</summary>
    private async Task<List<long>> ProduceAsync(int inserts, bool flush)
    {
        var msgs = new List<TsMsg>();
        for (var i = 0; i < inserts; i++)
        {
            var ts = ++_ts;
            msgs.Add(new InsertMsg { Id = _nextId++, BeginTs = ts, EndTs = ts, Rows = [new InsertRowData(i, ts, 0, new byte[32])] });
        }
        if (flush)
        {
            var ts = ++_ts;
            msgs.Add(new FlushMsg { Id = _nextId++, BeginTs = ts, EndTs = ts });
        }
        var payloads = msgs.Append(TimeTickMsg.At(++_ts)).Select(m => (ReadOnlyMemory<byte>)m.Marshal()).ToList();
        await _host.Mq.ProduceAsync(Channel, payloads);
        return [.. msgs.Select(m => m.Id)];
    }

    private static Task BufferStepsAsync(ArchiveSupervisor supervisor, long steps) =>
        EventuallyAsync(() => Task.FromResult(supervisor.GetGraphStates(Channel)?.NumCompletedTasks[SegmentBufferNode.NodeName] >= steps));

    private static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var patience = Stopwatch.StartNew();
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (!await condition())
        {
            Assert.True(patience.Elapsed < TimeSpan.FromSeconds(30), "The condition did not hold within 30 s.");
            await poll.WaitForNextTickAsync();
        }
    }
}
