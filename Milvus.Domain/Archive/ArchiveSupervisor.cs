using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Channels;
using Milvus.Domain.Components;
using Milvus.Domain.FlowGraph;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream.Streams;
using Milvus.Domain.Tso;

namespace Milvus.Domain.Archive;

/// <summary>
/// Keeps one <see cref="ArchiveChannelGraph"/> per channel: <see cref="SyncAsync"/> starts graphs for new channels,
/// stops those of destroyed channels, and restarts a graph that has stopped or failed (from the channel's
/// checkpoint, so nothing is lost or archived twice). Each graph reports as a component <c>archiver/&lt;channel&gt;</c>.
/// A destroyed channel's archive (segment metadata and objects) is purged by the <see cref="ArchivePurger"/> once its
/// graph has stopped, under this supervisor's gate: at once by <see cref="DestroyChannelsAsync"/>, or by the next sync
/// when the channel went some other way. A purge that fails is retried by every later sync, and a channel whose purge
/// is unfinished gets no new graph until it is done. With
/// <see cref="ArchiveClaims"/>, each channel is archived by one gateway of the cluster at a time: a gateway runs
/// graphs only for the channels it holds, and stops a graph before it hands its channel over. The gateway's own
/// channels (<see cref="GatewayChannelNames"/>: time ticks, statistics) are not archived.
/// </summary>
public sealed partial class ArchiveSupervisor(
    MsgStreamFactory streams,
    IMqClient mq,
    SegmentCatalog catalog,
    ArchivePurger purger,
    IOptions<ArchiveOptions> options,
    TimeProvider time,
    ILogger<ArchiveSupervisor> logger,
    GatewayChannelNames? ownChannels = null,
    ArchiveClaims? claims = null) : IAsyncDisposable
{
    /// <summary>The role prefix of the graphs' component states.</summary>
    public const string RolePrefix = "archiver/";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private bool _closed;

    /// <summary>The channels that have a running graph.</summary>
    public IReadOnlyList<string> RunningChannels
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries.Where(e => e.Value.Graph is { Completion.IsCompleted: false }).Select(e => e.Key).Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>The node counters of the channel's graph, or null when it has none.</summary>
    public FlowGraphStates? GetGraphStates(string channel)
    {
        lock (_entries)
        {
            return _entries.GetValueOrDefault(channel)?.Graph?.GetStates();
        }
    }

    /// <summary>Matches the graphs to the channels that exist now.</summary>
    /// <exception cref="MqException">The channels cannot be listed.</exception>
    public async Task SyncAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_closed)
            {
                return;
            }
            var channels = (await mq.ListChannelsAsync(cancellationToken).ConfigureAwait(false))
                .Where(c => ownChannels?.Contains(c) != true).ToHashSet(StringComparer.Ordinal);
            // No answer at all: the meta store is down, so no graph can start anyway.
            var unfinished = await purger.ResumeInterruptedAsync(cancellationToken).ConfigureAwait(false) ?? KnownChannels().ToHashSet(StringComparer.Ordinal);
            foreach (var channel in KnownChannels().Where(c => !channels.Contains(c)))
            {
                if (EntryOf(channel) is { } gone)
                {
                    await StopAsync(gone).ConfigureAwait(false);
                }
                Log.Stopped(logger, channel);
                await PurgeAsync(channel, cancellationToken).ConfigureAwait(false);
            }
            var (mine, letGo) = claims is null ? (channels, []) : await claims.SettleAsync(channels, cancellationToken).ConfigureAwait(false);
            foreach (var channel in KnownChannels().Where(c => channels.Contains(c) && !mine.Contains(c)))
            {
                // Another gateway archives it (or will): the graph stops, its checkpoint stays for the holder.
                if (EntryOf(channel) is { } other)
                {
                    await StopAsync(other).ConfigureAwait(false);
                }
                Remove(channel);
                purger.Forget(channel);
            }
            if (claims is not null && letGo.Count > 0)
            {
                await claims.ReleaseAsync(letGo, cancellationToken).ConfigureAwait(false);
            }
            foreach (var channel in mine.Order(StringComparer.Ordinal))
            {
                Entry entry;
                lock (_entries)
                {
                    if (!_entries.TryGetValue(channel, out entry!))
                    {
                        entry = new Entry();
                        _entries.Add(channel, entry);
                    }
                }
                if (entry.Graph is { Completion.IsCompleted: false })
                {
                    continue;
                }
                // The entry stays whether the purge is done or not: the graph started below is the one it tracks.
                if (unfinished.Contains(channel) || (purger.IsPending(channel) && !await purger.TryPurgeAsync(channel, cancellationToken).ConfigureAwait(false)))
                {
                    // The archive of an earlier channel of this name is not purged yet; a new graph would write into it.
                    continue;
                }
                if (entry.Graph is { } ended)
                {
                    entry.Error = ended.Completion.Exception?.GetBaseException().Message ?? "The graph's stream ended.";
                    Log.GraphEnded(logger, channel, ended.Completion.Exception?.GetBaseException());
                    await StopAsync(entry).ConfigureAwait(false);
                }
                await StartAsync(channel, entry, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Destroys channels with <paramref name="destroy"/> and then purges their archives: their graphs are stopped
    /// first and no sync starts them again meanwhile, so no segment is written after the purge. When
    /// <paramref name="destroy"/> fails, the next sync restarts the graphs of the channels that still exist.
    /// </summary>
    /// <exception cref="KvException">A purge failed; it is retried by later syncs and by the purge job.</exception>
    /// <remarks>The purge is <see cref="ArchivePurger.PurgeDestroyedAsync"/>'s.</remarks>
    public async Task DestroyChannelsAsync(IReadOnlyCollection<string> channels, Func<CancellationToken, Task> destroy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channels);
        ArgumentNullException.ThrowIfNull(destroy);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var (_, entry) in Snapshot().Where(e => channels.Contains(e.Key)))
            {
                await StopAsync(entry).ConfigureAwait(false);
            }
            await destroy(cancellationToken).ConfigureAwait(false);
            await purger.PurgeDestroyedAsync(channels, Remove, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The purge job's work, <see cref="ArchivePurger.SweepAsync"/> under the gate: finishes interrupted purges, and
    /// purges the archives of channels that no longer exist (destroyed while no graph of this gateway ran, for example
    /// with archiving off), each once its graph, if any, is stopped. Returns the channels purged.
    /// </summary>
    public async Task<IReadOnlyList<string>> SweepAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await purger.SweepAsync(StopGraphOfAsync, Remove, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The state of each channel's graph, in channel order.</summary>
    public IReadOnlyList<ComponentInfo> GetStates(long nodeId)
    {
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var states = new List<ComponentInfo>();
        foreach (var channel in KnownChannels().Order(StringComparer.Ordinal))
        {
            var entry = EntryOf(channel);
            var graph = entry?.Graph;
            var running = graph is { Completion.IsCompleted: false };
            var lastTick = graph?.LastInputTick ?? 0;
            var extra = new List<ExtraInfoPair>
            {
                new("timeTickLagMs", lastTick == 0 ? "unknown" : Math.Max(0, nowMs - new HybridTimestamp(lastTick).PhysicalMs).ToString(CultureInfo.InvariantCulture)),
                new("lastTick", lastTick.ToString(CultureInfo.InvariantCulture)),
                new("segmentsWritten", (graph?.SegmentsWritten ?? 0).ToString(CultureInfo.InvariantCulture)),
            };
            var error = graph is { Completion.IsFaulted: true } ? graph.Completion.Exception!.GetBaseException().Message : purger.PendingError(channel) ?? entry?.Error;
            if (!running && error is not null)
            {
                extra.Add(new ExtraInfoPair("error", error));
            }
            states.Add(new ComponentInfo(nodeId, RolePrefix + channel, running ? StateCode.Healthy : StateCode.Abnormal, extra));
        }
        return states;
    }

    /// <summary>
    /// Stops every graph without handing anything back (this gateway lost its session, and with it its claims): their
    /// checkpoints stay for whichever gateway claims the channels next. The next sync starts graphs again for the
    /// channels this gateway holds then.
    /// </summary>
    public async Task StopGraphsAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var (channel, entry) in Snapshot())
            {
                if (entry.Graph is not null)
                {
                    await StopAsync(entry).ConfigureAwait(false);
                    Log.Stopped(logger, channel);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops every graph; <see cref="SyncAsync"/> does nothing afterwards.</summary>
    public async Task CloseAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _closed = true;
            var held = KnownChannels();
            foreach (var (_, entry) in Snapshot())
            {
                await StopAsync(entry).ConfigureAwait(false);
            }
            if (claims is not null)
            {
                // The others take these channels over at once instead of after this gateway's lease.
                await claims.ReleaseAsync(held, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    private async Task StartAsync(string channel, Entry entry, CancellationToken cancellationToken)
    {
        try
        {
            entry.Graph = await ArchiveChannelGraph.StartAsync(channel, streams, mq, catalog, options.Value, time, cancellationToken).ConfigureAwait(false);
            entry.Error = null;
            Log.Started(logger, channel);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The channel may have gone meanwhile, or a store may be down: the state says so, and the next sync retries.
            entry.Error = ex.Message;
            Log.StartFailed(logger, channel, ex);
        }
    }

    /// <summary>
    /// Has the purger purge a destroyed channel's archive (its graph is stopped); the channel's entry goes either way,
    /// the purger keeping a failed purge pending. Returns false when a store failed.
    /// </summary>
    private async Task<bool> PurgeAsync(string channel, CancellationToken cancellationToken)
    {
        var purged = await purger.TryPurgeAsync(channel, cancellationToken).ConfigureAwait(false);
        Remove(channel);
        return purged;
    }

    private async Task StopGraphOfAsync(string channel)
    {
        if (EntryOf(channel) is { } entry)
        {
            await StopAsync(entry).ConfigureAwait(false);
        }
    }

    private void Remove(string channel)
    {
        lock (_entries)
        {
            _entries.Remove(channel);
        }
    }

    private static async Task StopAsync(Entry entry)
    {
        if (entry.Graph is { } graph)
        {
            entry.Graph = null;
            await graph.DisposeAsync().ConfigureAwait(false);
        }
    }

    private List<KeyValuePair<string, Entry>> Snapshot()
    {
        lock (_entries)
        {
            return [.. _entries];
        }
    }

    private Entry? EntryOf(string channel)
    {
        lock (_entries)
        {
            return _entries.GetValueOrDefault(channel);
        }
    }

    /// <summary>The channels with an entry (a graph, running or not) or a pending purge.</summary>
    private List<string> KnownChannels()
    {
        lock (_entries)
        {
            return [.. _entries.Keys.Union(purger.PendingChannels, StringComparer.Ordinal)];
        }
    }

    private sealed class Entry
    {
        public ArchiveChannelGraph? Graph { get; set; }

        public string? Error { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 8001, Level = LogLevel.Information, Message = "Archiving channel {Channel}.")]
        public static partial void Started(ILogger logger, string channel);

        [LoggerMessage(EventId = 8002, Level = LogLevel.Information, Message = "Stopped archiving channel {Channel}, which no longer exists.")]
        public static partial void Stopped(ILogger logger, string channel);

        [LoggerMessage(EventId = 8003, Level = LogLevel.Warning, Message = "The archiving graph of channel {Channel} could not start; the next sync retries.")]
        public static partial void StartFailed(ILogger logger, string channel, Exception exception);

        [LoggerMessage(EventId = 8004, Level = LogLevel.Warning, Message = "The archiving graph of channel {Channel} stopped; it restarts from its checkpoint.")]
        public static partial void GraphEnded(ILogger logger, string channel, Exception? exception);
    }
}
