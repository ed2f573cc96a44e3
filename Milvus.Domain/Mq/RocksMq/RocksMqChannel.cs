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
    }

    public string Name { get; }

    public byte[] DataPrefix { get; }

    public byte[] DataUpperBound { get; }

    /// <summary>Serialises producers: ids are allocated and written under it, so they increase in write order.</summary>
    public SemaphoreSlim ProduceGate { get; } = new(1, 1);

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
