namespace Milvus.Domain.Kv.Etcd;

/// <summary>
/// The request deadline of one <see cref="EtcdKv"/>, shared by every call that starts in the same slice of time
/// (an eighth of the timeout). Each slice has one <see cref="CancellationTokenSource"/> that cancels
/// <c>timeout + slice</c> after the slice began, so a call gets between its timeout and 1.125 times it. A gRPC
/// deadline would instead start a timer per call and send a <c>grpc-timeout</c> header that etcd turns into a timer
/// of its own; a token from here costs a clock read and a registration on a source that already exists.
/// Deadlines run on the system clock, as gRPC's do, whatever clock the caller injects for other timing.
/// Thread-safe.
/// </summary>
internal sealed class EtcdDeadline : IDisposable
{
    private const int SlicesPerTimeout = 8;

    private readonly TimeSpan _cancelAfter;
    private readonly long _sliceTimestampTicks;
    private readonly Lock _lock = new();
    private Slice _current;

    /// <summary>A deadline of at least <paramref name="timeout"/> after each call starts.</summary>
    public EtcdDeadline(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        var slice = timeout / SlicesPerTimeout;
        _cancelAfter = timeout + slice;
        _sliceTimestampTicks = Math.Max(1, (long)(slice.TotalSeconds * TimeProvider.System.TimestampFrequency));
        _current = NewSlice(TimeProvider.System.GetTimestamp());
    }

    /// <summary>The longest a call may wait: its timeout and one slice.</summary>
    public TimeSpan Longest => _cancelAfter;

    /// <summary>A token that is cancelled no sooner than the timeout from now, and no later than <see cref="Longest"/>.</summary>
    public CancellationToken Token
    {
        get
        {
            var slice = Volatile.Read(ref _current);
            var now = TimeProvider.System.GetTimestamp();
            return now < slice.EndsAt ? slice.Source.Token : Renew(now);
        }
    }

    /// <summary>
    /// A source for one call that is cancelled by the deadline or by <paramref name="cancellationToken"/>, or
    /// <see langword="null"/> when the caller cannot cancel and <see cref="Token"/> alone will do.
    /// </summary>
    public CancellationTokenSource? Link(CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Token) : null;

    public void Dispose()
    {
        lock (_lock)
        {
            // Earlier slices have fired or will fire on their own, and a fired source holds no timer.
            _current.Source.Dispose();
        }
    }

    private CancellationToken Renew(long now)
    {
        lock (_lock)
        {
            var slice = _current;
            if (now >= slice.EndsAt)
            {
                slice = NewSlice(now);
                Volatile.Write(ref _current, slice);
            }
            return slice.Source.Token;
        }
    }

    private Slice NewSlice(long now) => new(new CancellationTokenSource(_cancelAfter, TimeProvider.System), now + _sliceTimestampTicks);

    private sealed record Slice(CancellationTokenSource Source, long EndsAt);
}
