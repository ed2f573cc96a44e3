using System.Threading.Channels;

namespace Milvus.Domain.Kv.Embedded;

/// <summary>
/// The watch side of <see cref="EmbeddedMetaKv"/>: a bounded history of committed revisions and the live watchers.
/// Registering a watcher and taking its replay from the history happen under one lock with publishing, so a watch
/// from a revision sees every later change exactly once. A watcher whose bounded queue is full is cancelled with
/// <see cref="KvWatchCompactedException"/> rather than slowing the writers: it lists again and watches again.
/// </summary>
internal sealed class EmbeddedWatchHub(int historyEvents, int watcherCapacity)
{
    private readonly Lock _gate = new();
    private readonly LinkedList<KvWatchResponse> _history = new();
    private readonly List<Watcher> _watchers = [];
    private int _historyEventCount;
    private long _revision;
    private long _compactedThrough;
    private Exception? _closed;

    /// <summary>Starts the history at <paramref name="revision"/>: older revisions cannot be replayed.</summary>
    public void Reset(long revision)
    {
        lock (_gate)
        {
            _history.Clear();
            _historyEventCount = 0;
            _revision = revision;
            _compactedThrough = revision;
        }
    }

    /// <summary>Records a committed revision and hands its events to the watchers that match.</summary>
    public void Publish(KvWatchResponse response)
    {
        lock (_gate)
        {
            _revision = response.Revision;
            _history.AddLast(response);
            _historyEventCount += response.Events.Count;
            while (_historyEventCount > historyEvents && _history.First is { } oldest)
            {
                _history.RemoveFirst();
                _historyEventCount -= oldest.Value.Events.Count;
                _compactedThrough = oldest.Value.Revision;
            }
            for (var i = _watchers.Count - 1; i >= 0; i--)
            {
                var watcher = _watchers[i];
                if (watcher.Filter(response) is { } filtered && !watcher.Channel.Writer.TryWrite(filtered))
                {
                    _watchers.RemoveAt(i);
                    watcher.Channel.Writer.TryComplete(new KvWatchCompactedException(response.Revision, "the watcher fell too far behind"));
                }
            }
        }
    }

    /// <summary>Drops the history before <paramref name="revision"/>, as etcd's compaction does.</summary>
    public void Compact(long revision)
    {
        lock (_gate)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(revision, _revision);
            while (_history.First is { } oldest && oldest.Value.Revision < revision)
            {
                _history.RemoveFirst();
                _historyEventCount -= oldest.Value.Events.Count;
            }
            _compactedThrough = Math.Max(_compactedThrough, revision - 1);
        }
    }

    /// <summary>
    /// Registers a watcher of <paramref name="key"/> (a prefix when <paramref name="isPrefix"/>) from
    /// <paramref name="startRevision"/>, or from the next revision when it is 0, and returns what it missed.
    /// </summary>
    /// <exception cref="KvWatchCompactedException">The history does not reach back to the start revision.</exception>
    public (Watcher Watcher, IReadOnlyList<KvWatchResponse> Replay) Subscribe(string key, bool isPrefix, long startRevision)
    {
        lock (_gate)
        {
            if (_closed is not null)
            {
                throw _closed;
            }
            if (startRevision != 0 && startRevision <= _compactedThrough)
            {
                throw new KvWatchCompactedException(_compactedThrough + 1, "the history no longer reaches back to the requested revision");
            }
            var channel = Channel.CreateBounded<KvWatchResponse>(new BoundedChannelOptions(watcherCapacity)
            {
                FullMode = BoundedChannelFullMode.Wait,
                SingleReader = true,
                SingleWriter = true,
            });
            var watcher = new Watcher(key, isPrefix, startRevision == 0 ? _revision + 1 : startRevision, channel);
            var replay = _history.Select(watcher.Filter).OfType<KvWatchResponse>().ToList();
            _watchers.Add(watcher);
            return (watcher, replay);
        }
    }

    /// <summary>Removes a watcher whose caller stopped reading.</summary>
    public void Unsubscribe(Watcher watcher)
    {
        lock (_gate)
        {
            _watchers.Remove(watcher);
        }
    }

    /// <summary>Ends every watch with <paramref name="reason"/> and refuses new ones.</summary>
    public void Close(Exception reason)
    {
        lock (_gate)
        {
            _closed = reason;
            foreach (var watcher in _watchers)
            {
                watcher.Channel.Writer.TryComplete(reason);
            }
            _watchers.Clear();
        }
    }

    /// <summary>One watch: a key or a prefix, a first revision, and its bounded queue.</summary>
    public sealed class Watcher(string key, bool isPrefix, long startRevision, Channel<KvWatchResponse> channel)
    {
        public Channel<KvWatchResponse> Channel { get; } = channel;

        /// <summary>The part of <paramref name="response"/> this watcher wants, or null for none.</summary>
        public KvWatchResponse? Filter(KvWatchResponse response)
        {
            if (response.Revision < startRevision)
            {
                return null;
            }
            var events = response.Events.Where(e => isPrefix ? e.Key.StartsWith(key, StringComparison.Ordinal) : e.Key == key).ToList();
            return events.Count == 0 ? null : events.Count == response.Events.Count ? response : response with { Events = events };
        }
    }
}
