using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Components;
using Milvus.Domain.FlowGraph;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream.Streams;
using Milvus.Domain.Params;
using Milvus.Domain.Tso;

namespace Milvus.Workers.Archive;

/// <summary>
/// Keeps one <see cref="ArchiveChannelGraph"/> per channel: <see cref="SyncAsync"/> starts graphs for new channels,
/// stops those of destroyed channels, and restarts a graph that has stopped or failed (from the channel's
/// checkpoint, so nothing is lost or archived twice). Each graph reports as a component <c>archiver/&lt;channel&gt;</c>.
/// </summary>
public sealed partial class ArchiveSupervisor(
    MsgStreamFactory streams,
    IMqClient mq,
    SegmentCatalog catalog,
    IOptions<ArchiveOptions> options,
    TimeProvider time,
    ILogger<ArchiveSupervisor> logger) : IAsyncDisposable
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
            var channels = (await mq.ListChannelsAsync(cancellationToken).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in Snapshot().Where(e => !channels.Contains(e.Key)))
            {
                await StopAsync(gone.Value).ConfigureAwait(false);
                lock (_entries)
                {
                    _entries.Remove(gone.Key);
                }
                Log.Stopped(logger, gone.Key);
            }
            foreach (var channel in channels.Order(StringComparer.Ordinal))
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

    /// <summary>The state of each channel's graph, in channel order.</summary>
    public IReadOnlyList<ComponentInfo> GetStates(long nodeId)
    {
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var states = new List<ComponentInfo>();
        foreach (var (channel, entry) in Snapshot().OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var graph = entry.Graph;
            var running = graph is { Completion.IsCompleted: false };
            var lastTick = graph?.LastInputTick ?? 0;
            var extra = new List<ExtraInfoPair>
            {
                new("timeTickLagMs", lastTick == 0 ? "unknown" : Math.Max(0, nowMs - new HybridTimestamp(lastTick).PhysicalMs).ToString(CultureInfo.InvariantCulture)),
                new("lastTick", lastTick.ToString(CultureInfo.InvariantCulture)),
                new("segmentsWritten", (graph?.SegmentsWritten ?? 0).ToString(CultureInfo.InvariantCulture)),
            };
            var error = graph is { Completion.IsFaulted: true } ? graph.Completion.Exception!.GetBaseException().Message : entry.Error;
            if (!running && error is not null)
            {
                extra.Add(new ExtraInfoPair("error", error));
            }
            states.Add(new ComponentInfo(nodeId, RolePrefix + channel, running ? StateCode.Healthy : StateCode.Abnormal, extra));
        }
        return states;
    }

    /// <summary>Stops every graph; <see cref="SyncAsync"/> does nothing afterwards.</summary>
    public async Task CloseAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _closed = true;
            foreach (var (_, entry) in Snapshot())
            {
                await StopAsync(entry).ConfigureAwait(false);
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
