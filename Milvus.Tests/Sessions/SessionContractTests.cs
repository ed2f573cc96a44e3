using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Kv;
using Milvus.Domain.Sessions;

namespace Milvus.Tests.Sessions;

/// <summary>
/// Sessions, discovery and active-standby (seed A.2) on one <see cref="IMetaKv"/> backend. Every backend runs these
/// same assertions, each test under its own root path.
/// </summary>
public abstract class SessionContractTests : IAsyncLifetime
{
    /// <summary>How long a test waits for something that should happen (never a measure of speed).</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>A lease TTL that etcd accepts as is.</summary>
    protected const int ShortTtlSeconds = 2;

    private const int LongTtlSeconds = 60;

    private readonly List<Session> _sessions = [];

    protected IMetaKv Kv { get; private set; } = null!;

    protected string Root { get; } = $"session-test-{Guid.NewGuid():N}";

    protected CapturingLoggerFactory Logs { get; } = new();

    /// <summary>Opens the backend with every key under <paramref name="root"/>.</summary>
    protected abstract Task<IMetaKv> OpenAsync(string root);

    /// <summary>The clock the sessions and leases run on.</summary>
    protected abstract TimeProvider Time { get; }

    /// <summary>Lets lease time pass: a fake clock moves on; a real backend's clock moves by itself.</summary>
    protected abstract void AdvanceTime(TimeSpan by);

    /// <summary>Drops the backend's watch history before <paramref name="revision"/>.</summary>
    protected abstract Task CompactAsync(long revision);

    public async Task InitializeAsync() => Kv = await OpenAsync(Root);

    public async Task DisposeAsync()
    {
        foreach (var session in _sessions)
        {
            await session.DisposeAsync();
        }
        await Kv.RemoveWithPrefixAsync("");
        await Kv.DisposeAsync();
    }

    [Fact]
    public async Task TenConcurrentServerIdAllocationsGiveExactlyOneToTen()
    {
        var ids = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(() => Session.AllocateServerIdAsync(Kv))));

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), ids.Order());
        Assert.Equal("10", await Kv.LoadAsync("session/id"));
    }

    [Fact]
    public async Task ARegistrationIsLeasedJsonUnderTheNameAndIdAndIsListedWithItsRevision()
    {
        var session = NewSession(LongTtlSeconds);
        var live = await session.InitAsync("querynode", "http://10.0.0.7:19530", exclusive: false);

        var listed = await session.GetSessionsAsync("querynode");

        Assert.False(live.IsCancellationRequested);
        Assert.True(session.IsRegistered);
        var only = Assert.Single(listed.Sessions);
        Assert.Equal(new SessionInfo($"querynode-{session.ServerId}", session.ServerId, "querynode", "http://10.0.0.7:19530", false, false), only);
        Assert.True(listed.Revision > 0);
        var stored = await Kv.LoadAsync($"session/querynode-{session.ServerId}");
        Assert.Contains("\"ServerID\":" + session.ServerId, stored, StringComparison.Ordinal);
        Assert.Contains("\"ServerName\":\"querynode\"", stored, StringComparison.Ordinal);
        Assert.NotEqual(0, session.LeaseId);
    }

    [Fact]
    public async Task TenSessionsRegisteredThenStoppedAreSeenAsExactlyTenAddTenUpdateAndTenDel()
    {
        var observer = NewSession(LongTtlSeconds);
        var listed = await observer.GetSessionsAsync("datanode");
        var events = await observer.WatchServicesAsync("datanode", listed.Revision + 1);
        var recorder = Record(events);

        var sessions = Enumerable.Range(0, 10).Select(_ => NewSession(LongTtlSeconds)).ToList();
        await Task.WhenAll(sessions.Select((s, i) => s.InitAsync("datanode", $"addr-{i}", exclusive: false)));
        Assert.Equal(10, (await observer.GetSessionsAsync("datanode")).Sessions.Count);
        foreach (var session in sessions)
        {
            await session.StopAsync();
        }

        var seen = await recorder.NextAsync(30);
        Assert.Equal(10, seen.Count(e => e.EventType == SessionEventType.Add));
        Assert.Equal(10, seen.Count(e => e.EventType == SessionEventType.Update && e.Session.Stopping));
        Assert.Equal(10, seen.Count(e => e.EventType == SessionEventType.Del));
        Assert.Equal(sessions.Select(s => s.ServerId).Order(), seen.Where(e => e.EventType == SessionEventType.Del).Select(e => e.Session.ServerId).Order());
        Assert.Empty((await observer.GetSessionsAsync("datanode")).Sessions);
    }

    [Fact]
    public async Task APrefixThatMatchesNothingListsNothing()
    {
        var session = NewSession(LongTtlSeconds);
        await session.InitAsync("proxy", "a", exclusive: false);

        var listed = await session.GetSessionsAsync("nothing-here");

        Assert.Empty(listed.Sessions);
        Assert.Single((await session.GetSessionsAsync("")).Sessions);
    }

    [Fact]
    public async Task ALeaseThatIsNotKeptAliveExpiresAndAWatcherSeesDel()
    {
        var observer = NewSession(LongTtlSeconds);
        var crashed = NewSession(ShortTtlSeconds);
        await crashed.InitAsync("indexnode", "b", exclusive: false);
        var listed = await observer.GetSessionsAsync("indexnode");
        Assert.Single(listed.Sessions);
        var recorder = Record(await observer.WatchServicesAsync("indexnode", listed.Revision + 1));

        await crashed.DisposeAsync();
        AdvanceTime(TimeSpan.FromSeconds(ShortTtlSeconds + 1));

        var gone = Assert.Single(await recorder.NextAsync(1));
        Assert.Equal(SessionEventType.Del, gone.EventType);
        Assert.Equal(crashed.ServerId, gone.Session.ServerId);
        Assert.Empty((await observer.GetSessionsAsync("indexnode")).Sessions);
    }

    [Fact]
    public async Task MalformedSessionJsonIsSkippedWithALogLine()
    {
        await Kv.SaveAsync("session/broken-junk", "{not json");
        var session = NewSession(LongTtlSeconds);
        await session.InitAsync("broken", "c", exclusive: false);
        var listed = await session.GetSessionsAsync("broken");
        var recorder = Record(await session.WatchServicesAsync("broken", listed.Revision + 1));

        await Kv.SaveAsync("session/broken-more-junk", "[1,2]");
        var other = NewSession(LongTtlSeconds);
        await other.InitAsync("broken", "d", exclusive: false);

        Assert.Equal([session.ServerId], listed.Sessions.Select(s => s.ServerId));
        var added = Assert.Single(await recorder.NextAsync(1));
        Assert.Equal(other.ServerId, added.Session.ServerId);
        Assert.Contains(Logs.Lines, line => line.Contains("session/broken-junk", StringComparison.Ordinal));
        Assert.Contains(Logs.Lines, line => line.Contains("session/broken-more-junk", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AStandbyWatchesTheExclusiveKeyAndTakesOverWhenTheActiveLeaseEnds()
    {
        var first = NewSession(ShortTtlSeconds);
        await first.InitAsync("tso", "first", exclusive: true);
        var firstLive = await first.ProcessActiveStandbyAsync(_ => { }, CancellationToken.None);
        var second = NewSession(LongTtlSeconds);
        await second.InitAsync("tso", "second", exclusive: true);
        var holders = Channel.CreateUnbounded<SessionInfo?>();
        var takeover = second.ProcessActiveStandbyAsync(holder => holders.Writer.TryWrite(holder), CancellationToken.None);

        var seen = await holders.Reader.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal(first.ServerId, seen?.ServerId);
        Assert.False(takeover.IsCompleted);
        Assert.False(firstLive.IsCancellationRequested);
        Assert.Equal("first", (await Kv.LoadAsync("session/tso")).Split("\"Address\":\"")[1].Split('"')[0]);

        await first.DisposeAsync();
        AdvanceTime(TimeSpan.FromSeconds(ShortTtlSeconds + 1));

        var secondLive = await takeover.WaitAsync(Patience);
        Assert.False(secondLive.IsCancellationRequested);
        var listed = await second.GetSessionsAsync("tso");
        var active = Assert.Single(listed.Sessions, s => s.Key == "tso");
        Assert.Equal(second.ServerId, active.ServerId);
        Assert.Contains(listed.Sessions, s => s.Key == $"tso-{second.ServerId}");
        Assert.DoesNotContain(listed.Sessions, s => s.ServerId == first.ServerId);
    }

    [Fact]
    public async Task AGracefulStopOfTheActiveHandsTheRoleOverAtOnce()
    {
        var first = NewSession(LongTtlSeconds);
        await first.InitAsync("rootcoord", "first", exclusive: true);
        await first.ProcessActiveStandbyAsync(_ => { }, CancellationToken.None);
        var second = NewSession(LongTtlSeconds);
        await second.InitAsync("rootcoord", "second", exclusive: true);
        var takeover = second.ProcessActiveStandbyAsync(_ => { }, CancellationToken.None);

        await first.StopAsync();

        await takeover.WaitAsync(Patience);
        var active = Assert.Single((await second.GetSessionsAsync("rootcoord")).Sessions, s => s.Key == "rootcoord");
        Assert.Equal(second.ServerId, active.ServerId);
        Assert.False(first.IsRegistered);
    }

    [Fact]
    public async Task AWatchFromACompactedRevisionTellsTheCallerToListAgain()
    {
        var observer = NewSession(LongTtlSeconds);
        var listed = await observer.GetSessionsAsync("compact");
        var session = NewSession(LongTtlSeconds);
        await session.InitAsync("compact", "e", exclusive: false);
        await Kv.SaveAsync("compact-filler", "x");
        var now = await Kv.LoadWithRevisionAsync("compact-filler");
        await CompactAsync(now.Revision);

        // Refused before any event, naming where the history starts now and the current revision.
        var refused = await Assert.ThrowsAsync<SessionWatchCompactedException>(() => observer.WatchServicesAsync("compact", listed.Revision + 1));

        Assert.Equal(listed.Revision + 1, refused.Revision);
        Assert.InRange(refused.CompactRevision, listed.Revision + 2, now.Revision);
        Assert.True(refused.CurrentRevision >= now.Revision);
        var relisted = await observer.GetSessionsAsync("compact");
        var recorder = Record(await observer.WatchServicesAsync("compact", relisted.Revision + 1));
        await session.StopAsync();
        Assert.Equal([SessionEventType.Update, SessionEventType.Del], (await recorder.NextAsync(2)).Select(e => e.EventType));
    }

    protected Session NewSession(int ttlSeconds)
    {
        var session = new Session(Kv, ttlSeconds, Time, Logs);
        _sessions.Add(session);
        return session;
    }

    private static EventRecorder Record(IAsyncEnumerable<SessionEvent> events) => new(events);

    /// <summary>Reads a session watch in the background.</summary>
    private sealed class EventRecorder
    {
        private readonly Channel<SessionEvent> _events = Channel.CreateBounded<SessionEvent>(10_000);
        private readonly CancellationTokenSource _stop = new();

        public EventRecorder(IAsyncEnumerable<SessionEvent> events)
        {
            Pump = PumpAsync(events);
        }

        public Task Pump { get; }

        public async Task<List<SessionEvent>> NextAsync(int count)
        {
            using var patience = new CancellationTokenSource(Patience);
            var seen = new List<SessionEvent>();
            while (seen.Count < count)
            {
                seen.Add(await _events.Reader.ReadAsync(patience.Token));
            }
            return seen;
        }

        private async Task PumpAsync(IAsyncEnumerable<SessionEvent> events)
        {
            try
            {
                await foreach (var e in events.WithCancellation(_stop.Token))
                {
                    await _events.Writer.WriteAsync(e);
                }
                _events.Writer.TryComplete();
            }
            catch (Exception e)
            {
                _events.Writer.TryComplete(e);
            }
        }
    }
}

/// <summary>Keeps every formatted log line, so a test can assert that something was logged.</summary>
public sealed class CapturingLoggerFactory : ILoggerFactory
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return _lines.ToList();
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._lines)
            {
                owner._lines.Add(formatter(state, exception));
            }
        }
    }
}
