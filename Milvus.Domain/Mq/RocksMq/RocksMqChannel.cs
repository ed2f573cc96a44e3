using RocksDbSharp;

namespace Milvus.Domain.Mq.RocksMq;

/// <summary>
/// The in-memory state of one channel, mirrored from the meta family. Lock order: <see cref="ProduceGate"/>, then
/// <see cref="Gate"/>, then the groups' gates in name order.
/// </summary>
internal sealed class RocksMqChannel
{
    private TaskCompletionSource _signal = NewSignal();

    public RocksMqChannel(string name)
    {
        Name = name;
        DataPrefix = RocksMqKeys.DataPrefix(name);
        DataUpperBound = RocksMqKeys.DataUpperBound(name);
        EndIdKey = RocksMqKeys.EndIdKey(name);
        DataReadOptions = new ReadOptions().SetIterateUpperBound(DataUpperBound);
        KeysReadOptions = new ReadOptions().SetIterateUpperBound(DataUpperBound);
    }

    public string Name { get; }

    public byte[] DataPrefix { get; }

    public byte[] DataUpperBound { get; }

    /// <summary>The meta key of the channel's latest id.</summary>
    public byte[] EndIdKey { get; }

    /// <summary>
    /// Read options bounded to the channel's data keys, made once and shared by every consume (RocksDB only reads
    /// them), so that a consume does not create a native object and leave it to the finalizer.
    /// </summary>
    public ReadOptions DataReadOptions { get; }

    /// <summary>Read options bounded to the channel's idempotency keys (the same key range, in the keys family).</summary>
    public ReadOptions KeysReadOptions { get; }

    /// <summary>Serialises producers: ids are allocated and written under it, so they increase in write order.</summary>
    public SemaphoreSlim ProduceGate { get; } = new(1, 1);

    private readonly Lock _produceQueueGate = new();
    private readonly Queue<RocksMqProduceRequest> _produceQueue = new();
    private bool _produceLed;

    /// <summary>
    /// Queues a produce. Returns true when the caller leads (no write was in progress), else false: the caller
    /// waits on <see cref="RocksMqProduceRequest.Done"/>, which turns false when the lead passes to it.
    /// </summary>
    public bool EnqueueProduce(RocksMqProduceRequest request)
    {
        lock (_produceQueueGate)
        {
            _produceQueue.Enqueue(request);
            if (_produceLed)
            {
                return false;
            }
            _produceLed = true;
            return true;
        }
    }

    /// <summary>Takes the leader's batch: the head of the queue (the leader's own request) and those behind it, up to a message count.</summary>
    public List<RocksMqProduceRequest> TakeProduceBatch(int maxMessages)
    {
        lock (_produceQueueGate)
        {
            var batch = new List<RocksMqProduceRequest> { _produceQueue.Dequeue() };
            var count = batch[0].Payloads.Count;
            while (_produceQueue.TryPeek(out var next) && count + next.Payloads.Count <= maxMessages)
            {
                batch.Add(_produceQueue.Dequeue());
                count += next.Payloads.Count;
            }
            return batch;
        }
    }

    /// <summary>Passes the lead to the next queued produce, or ends it when none is queued.</summary>
    public void PassProduceLead()
    {
        lock (_produceQueueGate)
        {
            if (_produceQueue.TryPeek(out var next))
            {
                next.Lead();
            }
            else
            {
                _produceLed = false;
            }
        }
    }

    /// <summary>Guards the fields below and the group set.</summary>
    public Lock Gate { get; } = new();

    /// <summary>The first id that may still be stored (ids below it were deleted by retention).</summary>
    public long BeginId { get; set; }

    private long _endId;

    /// <summary>The id of the latest message, 0 when none was produced. Written under <see cref="Gate"/>.</summary>
    public long EndId
    {
        get => Volatile.Read(ref _endId);
        set => Volatile.Write(ref _endId, value);
    }

    public Dictionary<string, RocksMqGroup> Groups { get; } = new(StringComparer.Ordinal);

    /// <summary>Closed pages, oldest first.</summary>
    public List<RocksMqPage> Pages { get; } = [];

    /// <summary>Bytes of the messages after the last closed page.</summary>
    public long OpenPageBytes { get; set; }

    /// <summary>How many messages follow the last closed page.</summary>
    public long OpenPageCount { get; set; }

    /// <summary>Set once the channel is destroyed; every later call on this object fails.</summary>
    public bool Destroyed { get; set; }

    /// <summary>A task that completes at the next produce or destroy; take it before checking for messages.</summary>
    public Task NextSignal => Volatile.Read(ref _signal).Task;

    /// <summary>Wakes every consumer waiting on the channel.</summary>
    public void Notify() => Interlocked.Exchange(ref _signal, NewSignal()).TrySetResult();

    /// <summary>The groups in name order (the order their gates are taken in).</summary>
    public List<RocksMqGroup> GroupsInOrder() => [.. Groups.Values.OrderBy(g => g.Name, StringComparer.Ordinal)];

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>The in-memory state of one consumer group on one channel.</summary>
internal sealed class RocksMqGroup(string name, string channel)
{
    public string Name { get; } = name;

    public byte[] MetaKey { get; } = RocksMqKeys.GroupKey(channel, name);

    /// <summary>Serialises consumes, seeks and retention on the group.</summary>
    public Lock Gate { get; } = new();

    /// <summary>The next message the group reads is the first with an id ≥ this. Written under <see cref="Gate"/>.</summary>
    public long Position { get; set; }

    /// <summary>Set once the group (or its channel) is destroyed.</summary>
    public bool Destroyed { get; set; }
}

/// <summary>One queued produce: its payloads, the ids it gets, and how it ended.</summary>
internal sealed class RocksMqProduceRequest(IReadOnlyList<ReadOnlyMemory<byte>> payloads, MqProduceKey? key = null)
{
    private readonly TaskCompletionSource<bool> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<ReadOnlyMemory<byte>> Payloads { get; } = payloads;

    /// <summary>The produce's idempotency key, if it has one.</summary>
    public MqProduceKey? Key { get; } = key;

    /// <summary>Set when the key was used before with this batch: nothing is written, and the ids are the first call's.</summary>
    public bool Replayed { get; set; }

    /// <summary>The note stored with the key, handed back.</summary>
    public ReadOnlyMemory<byte> Note { get; set; } = key?.Note ?? default;

    /// <summary>The ids of the payloads, in order, once written.</summary>
    public long[] Ids { get; } = new long[payloads.Count];

    /// <summary>The error that failed the write, if one did.</summary>
    public Exception? Error { get; private set; }

    /// <summary>True once written, false when the caller must lead; faults never (see <see cref="Error"/>).</summary>
    public Task<bool> Done => _done.Task;

    public void Complete() => _done.TrySetResult(true);

    public void Lead() => _done.TrySetResult(false);

    public void Fail(Exception error)
    {
        // Only the leader fails requests, one at a time: a request failed already (a reused key) keeps its error.
        Error ??= error;
        _done.TrySetResult(true);
    }
}
