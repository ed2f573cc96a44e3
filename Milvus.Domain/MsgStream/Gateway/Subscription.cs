using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream.Streams;

namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>
/// One subscription held open on this gateway: its stream (and so its read-ahead), its checkpoint and the answers it
/// owes since, when it was last used, and its gate. Consume, seek (with the restore after a failed one), the
/// checkpoint protocol, pack joining and the SSE lease run here; which subscriptions exist is the
/// <see cref="SubscriptionRegistry"/>'s.
/// </summary>
/// <remarks>
/// <para>
/// Lock: <see cref="_gate"/> lets one call in at a time. It guards the replacement of <see cref="Stream"/> (seek),
/// <see cref="Checkpoint"/>, <see cref="Pending"/> and <see cref="Ended"/>: a call enters with
/// <see cref="EnterAsync"/>, which turns it away once the subscription has ended, runs <see cref="ConsumeAsync"/> or
/// <see cref="SeekAsync"/>, and leaves with <see cref="Exit"/>; every end of a consume subscription runs in the gate.
/// An SSE subscription never takes its gate: consume, seek, delete and the sweep turn it away, and only its lease
/// ends it.
/// </para>
/// <para>
/// The gate comes before the registry's admission lock: a call in the gate may end the subscription under admission,
/// and nothing that holds admission waits for a gate. The last use is kept outside the gate (interlocked), so that a
/// call marks it before it waits. Outside the gate its stream is only counted (ready packs) or closed (let go,
/// shutdown), which makes a call waiting on it return.
/// </para>
/// </remarks>
internal sealed class Subscription
{
    private readonly SubscriptionContext _context;
    private readonly Func<Subscription, Task> _end;
    // One call at a time: guards the stream's replacement, the checkpoints and Ended.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _lastUsed;

    private Subscription(
        SubscriptionContext context, string name, string[] channels, bool timeTickAligned, bool streaming, string? client,
        IMsgStream stream, SubscriptionCheckpoint checkpoint, Func<Subscription, Task> end)
    {
        _context = context;
        _end = end;
        Name = name;
        Channels = channels;
        TimeTickAligned = timeTickAligned;
        Streaming = streaming;
        Client = client;
        Stream = stream;
        Checkpoint = checkpoint;
    }

    /// <summary>The subscription's name, which is also its consumer group on every channel.</summary>
    public string Name { get; }

    /// <summary>The channels it reads, in order.</summary>
    public string[] Channels { get; }

    /// <summary>Whether its stream is time-ticked.</summary>
    public bool TimeTickAligned { get; }

    /// <summary>Whether it streams over SSE (its packs go to its lease's holder, not to consume calls).</summary>
    public bool Streaming { get; }

    /// <summary>The client that opened it (an API key's hash or an address), counted against its own limit.</summary>
    public string? Client { get; }

    /// <summary>Its stream; replaced, in the gate, by a seek.</summary>
    public IMsgStream Stream { get; private set; }

    /// <summary>Where the subscription resumes after a restart (saved in the meta KV, but for SSE).</summary>
    public SubscriptionCheckpoint Checkpoint { get; private set; }

    /// <summary>The checkpoint past the answers given since, which the next consume acknowledges.</summary>
    public SubscriptionCheckpoint? Pending { get; private set; }

    /// <summary>Set, in the gate, once the subscription has ended: a call that waited for the gate opens anew.</summary>
    public bool Ended { get; private set; }

    /// <summary>This gateway let go of it for another one: its end leaves the groups and checkpoint alone.</summary>
    public bool LetGo { get; private set; }

    /// <summary>When a call last used it (a <see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long LastUsed => Interlocked.Read(ref _lastUsed);

    /// <summary>How many packs it holds read ahead and not yet answered.</summary>
    public int ReadyPacks => Stream.Chan() is { CanCount: true } reader ? reader.Count : 0;

    /// <summary>
    /// Opens subscription <paramref name="name"/> with a started stream whose groups are at
    /// <paramref name="checkpoint"/>, and saves the checkpoint of a consume subscription. The registry calls it under
    /// its admission lock; <paramref name="end"/> is the registry's end, which the subscription's lease and a seek that
    /// cannot restore call. A <paramref name="resumed"/> checkpoint is a kept one, whose messages may have been trimmed since.
    /// </summary>
    public static async Task<Subscription> OpenAsync(
        SubscriptionContext context, string name, IReadOnlyList<string> channels, bool timeTickAligned, bool streaming, string? client,
        SubscriptionCheckpoint checkpoint, bool resumed, Func<Subscription, Task> end, CancellationToken cancellationToken)
    {
        // Also a new subscription's groups are moved: groups of its name may be left from an earlier one.
        var stream = await OpenStreamAsync(context, name, channels, timeTickAligned, checkpoint, tolerateMissing: resumed, cancellationToken).ConfigureAwait(false);
        if (!streaming)
        {
            try
            {
                // A kept one is saved again too, so that no sweep takes it for idle now that it is open.
                checkpoint = await checkpoint.SaveAsync(context.Meta, name, context.Time, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        var subscription = new Subscription(context, name, [.. channels], timeTickAligned, streaming, client, stream, checkpoint, end);
        subscription.Touch();
        return subscription;
    }

    /// <summary>Marks it used now, so that the idle sweep leaves it.</summary>
    public void Touch() => Interlocked.Exchange(ref _lastUsed, _context.Time.GetTimestamp());

    /// <summary>Waits for the gate; false, with the gate left, when the subscription ended meanwhile.</summary>
    public async Task<bool> EnterAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!Ended)
        {
            return true;
        }
        _gate.Release();
        return false;
    }

    /// <summary>
    /// Enters the gate, without waiting, when the subscription is idle: a consume subscription unused for
    /// <paramref name="idle"/> at <paramref name="now"/> and in no call. It looks again once it holds the gate, because
    /// a call marks its use before it waits for the gate.
    /// </summary>
    public async Task<bool> TryEnterIdleAsync(TimeSpan idle, long now, CancellationToken cancellationToken)
    {
        var time = _context.Time;
        if (Streaming || time.GetElapsedTime(LastUsed, now) < idle || !await _gate.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        if (Ended || time.GetElapsedTime(LastUsed, now) < idle)
        {
            _gate.Release();
            return false;
        }
        return true;
    }

    /// <summary>Leaves the gate. A call that leaves the subscription open counts as a use, which the idle sweep measures from.</summary>
    public void Exit()
    {
        if (!Ended)
        {
            Touch();
        }
        _gate.Release();
    }

    /// <summary>
    /// The next pack, in the gate. Waits up to <paramref name="wait"/>; null when nothing is ready. A time-ticked
    /// subscription answers every pack ready by then joined into one (up to
    /// <see cref="StreamSubscriptionOptions.MaxMsgsPerConsume"/> msgs), which is again a pack between two ticks.
    /// </summary>
    public async Task<MsgPack?> ConsumeAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        await AcknowledgeAsync(cancellationToken).ConfigureAwait(false);
        var reader = Stream.Chan();
        // A ready pack is answered even without a wait; a failed stream's error surfaces through ConsumeAsync.
        var pack = reader.TryRead(out var ready) ? ready
            : wait > TimeSpan.Zero || reader.Completion.IsCompleted ? await Stream.ConsumeAsync(wait, cancellationToken).ConfigureAwait(false)
            : null;
        if (pack is not null && TimeTickAligned)
        {
            var limit = _context.Options.MaxMsgsPerConsume;
            while (pack.Msgs.Count < limit && reader.TryPeek(out var next) && pack.Msgs.Count + next.Msgs.Count <= limit && reader.TryRead(out next))
            {
                pack = Join(pack, next);
            }
        }
        if (pack is not null)
        {
            // Taken off the stream now, so it is owed: acknowledged by the next consume.
            Pending = (Pending ?? Checkpoint).Past(pack);
        }
        return pack;
    }

    /// <summary>
    /// Moves the subscription to <paramref name="positions"/>, in the gate, with the seek semantics of its stream: the
    /// stream is replaced by a fresh one that resumes there. A failed seek changes nothing; when the subscription
    /// cannot go on from where it was either, it ends (and <see cref="Ended"/> tells the caller).
    /// </summary>
    /// <exception cref="MqMsgIdNotFoundException">A position's message is no longer stored.</exception>
    /// <exception cref="MsgStreamException">A position names a channel the subscription does not read, or a time-ticked one lacks a channel's position.</exception>
    public async Task SeekAsync(IReadOnlyList<MsgPosition> positions, CancellationToken cancellationToken)
    {
        var names = new HashSet<string>(Channels, StringComparer.Ordinal);
        foreach (var position in positions)
        {
            if (!names.Contains(position.ChannelName))
            {
                throw MsgStreamException.Invalid($"The seek position names channel '{position.ChannelName}', which this subscription does not read.");
            }
        }
        if (TimeTickAligned && !Channels.All(c => positions.Any(p => p.ChannelName == c)))
        {
            throw MsgStreamException.Invalid("A time-ticked subscription needs one seek position for each of its channels.");
        }
        await Stream.DisposeAsync().ConfigureAwait(false);
        // The channels a plain seek leaves out resume after the last answer (the client asked to move on).
        var current = Pending ?? Checkpoint;
        var checkpoint = current.SoughtTo(positions);
        IMsgStream? opened = null;
        try
        {
            opened = await OpenStreamAsync(_context, Name, Channels, TimeTickAligned, checkpoint, tolerateMissing: false, cancellationToken).ConfigureAwait(false);
            checkpoint = await checkpoint.SaveAsync(_context.Meta, Name, _context.Time, cancellationToken).ConfigureAwait(false);
            Stream = opened;
        }
        catch
        {
            if (opened is not null)
            {
                // Opened, but its checkpoint was not saved.
                await opened.DisposeAsync().ConfigureAwait(false);
            }
            // A failed seek changes nothing: the subscription goes on from where its answers left it.
            try
            {
                // Not with the request's token: a client that left mid-seek must not end its subscription.
                Stream = await OpenStreamAsync(_context, Name, Channels, TimeTickAligned, current, tolerateMissing: true, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception restoreError)
            {
                SubscriptionLog.RestoreFailed(_context.Logger, restoreError, Name);
                // Ended here, in the gate that the caller leaves.
                await _end(this).ConfigureAwait(false);
            }
            throw;
        }
        Checkpoint = checkpoint;
        Pending = null;
    }

    /// <summary>The lease of an SSE subscription: its stream, and its end when the lease is disposed.</summary>
    public SubscriptionLease Lease() => new(Stream, () => _end(this));

    /// <summary>
    /// Marks it ended, for the registry's end (or its letting go): in the gate, but for an SSE subscription, which its
    /// lease ends.
    /// </summary>
    public void MarkEnded() => Ended = true;

    /// <summary>
    /// Marks that another gateway holds it now, and closes its stream, outside the gate: a call waiting on the stream
    /// returns, and an SSE response ends with it.
    /// </summary>
    public async Task LetGoAsync()
    {
        LetGo = true;
        await Stream.CloseAsync().ConfigureAwait(false);
    }

    /// <summary>Closes its stream, for shutdown: later calls find nothing ready.</summary>
    public Task CloseStreamAsync() => Stream.CloseAsync();

    /// <summary>Disposes its stream, once it has ended or the registry is disposed.</summary>
    public ValueTask DisposeStreamAsync() => Stream.DisposeAsync();

    /// <summary>
    /// Moves the checkpoint past the last answer, which the call now in the gate acknowledges; with nothing to
    /// acknowledge, saves it again once a third of the idle timeout has passed, so that it never looks idle to a sweep
    /// on another gateway while it is in use here.
    /// </summary>
    private async Task AcknowledgeAsync(CancellationToken cancellationToken)
    {
        if (Pending is { } pending)
        {
            Checkpoint = await pending.SaveAsync(_context.Meta, Name, _context.Time, cancellationToken).ConfigureAwait(false);
            Pending = null;
        }
        else if (_context.Time.GetUtcNow().ToUnixTimeMilliseconds() - Checkpoint.SavedAtMs >= _context.Options.SubscriptionIdleSeconds * 1000L / 3)
        {
            Checkpoint = await Checkpoint.SaveAsync(_context.Meta, Name, _context.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A started stream of subscription <paramref name="name"/> whose groups are at <paramref name="checkpoint"/>
    /// (the checkpoint, not the groups' start, says where: a new subscription's holds its start).
    /// </summary>
    private static async Task<IMsgStream> OpenStreamAsync(
        SubscriptionContext context, string name, IReadOnlyList<string> channels, bool timeTickAligned, SubscriptionCheckpoint checkpoint, bool tolerateMissing,
        CancellationToken cancellationToken)
    {
        var stream = timeTickAligned ? context.Factory.NewTtMsgStream() : context.Factory.NewMsgStream();
        try
        {
            await stream.AsConsumerAsync(channels, name, MqStartPosition.Earliest, cancellationToken).ConfigureAwait(false);
            if (tolerateMissing)
            {
                var stored = await checkpoint.StoredAsync(context.Mq, name, cancellationToken).ConfigureAwait(false);
                if (!ReferenceEquals(stored, checkpoint))
                {
                    SubscriptionLog.CheckpointTrimmed(context.Logger, name);
                }
                checkpoint = stored;
            }
            await checkpoint.ApplyAsync(context.Mq, stream, name, cancellationToken).ConfigureAwait(false);
            stream.Start();
            return stream;
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static MsgPack Join(MsgPack first, MsgPack next) => new()
    {
        BeginTs = first.BeginTs,
        EndTs = next.EndTs,
        Msgs = [.. first.Msgs, .. next.Msgs],
        StartPositions = first.StartPositions,
        EndPositions = next.EndPositions,
        Skipped = [.. first.Skipped, .. next.Skipped],
    };
}
