using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Milvus.Domain.Kv;

namespace Milvus.Domain.Tso;

/// <summary>
/// The timestamp oracle (seed A.6.2). It issues hybrid timestamps that only ever grow, also across restarts and
/// crashes: before any timestamp of a physical millisecond is issued, a window reaching
/// <see cref="TsoOptions.SaveIntervalMs"/> past it is persisted under <see cref="Key"/>, and a start continues
/// above the saved window. The hot path is one interlocked add on the current millisecond's logical counter;
/// only the updater and the resets take the write gate.
/// </summary>
public sealed partial class TimestampOracle : ITimestampAllocator
{
    /// <summary>Where the saved window lives in the meta KV (under the KV's root path).</summary>
    public const string DefaultKey = "tso/timestamp";

    /// <summary>The smallest step the physical part moves by, in milliseconds.</summary>
    private const long GuardMs = 1;

    private readonly ITxnKv _kv;
    private readonly TimeProvider _time;
    private readonly TsoOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private PhysicalSlot? _slot;
    private long _savedMs;
    private long _updateAttempts;
    private long _failedUpdates;
    private TaskCompletionSource _updated = NewSignal();

    public TimestampOracle(ITxnKv kv, TimeProvider time, TsoOptions options, ILogger<TimestampOracle>? logger = null, string key = DefaultKey)
    {
        SavedValue.CheckArguments(kv, time, options, key);
        _kv = kv;
        _time = time;
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Key = key;
    }

    /// <summary>The meta KV key of the saved window.</summary>
    public string Key { get; }

    /// <summary>Whether the oracle has loaded its saved window and issues timestamps.</summary>
    public bool IsReady => Volatile.Read(ref _slot) is not null;

    /// <summary>The current physical part, in Unix milliseconds; 0 when not ready.</summary>
    public long PhysicalMs => Volatile.Read(ref _slot)?.PhysicalMs ?? 0;

    /// <summary>The end of the persisted window: every physical part issued so far is below it.</summary>
    public long SavedMs => Interlocked.Read(ref _savedMs);

    /// <summary>A task that completes after the next update attempt, whether or not it moved the clock.</summary>
    public Task NextUpdate => Volatile.Read(ref _updated).Task;

    /// <summary>
    /// Loads the saved window and starts the clock above it: at the wall clock, or at saved + 1 ms when the wall
    /// clock is not past the saved window. A failure to read the saved value fails the start.
    /// </summary>
    public async Task InitTimestampAsync(CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var last = await SavedValue.LoadAsync(_kv, Key, cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _savedMs, last);
            var now = NowMs();
            var next = now - last < GuardMs ? last + GuardMs : now;
            await PublishAsync(next, forceSave: true, cancellationToken).ConfigureAwait(false);
            Log.Initialized(_logger, Key, last, next);
        }
        finally
        {
            _writeGate.Release();
            Signal();
        }
    }

    /// <summary>
    /// Moves the physical part to the wall clock when it is ahead, or by 1 ms when more than half of the logical
    /// range is used. A clock that went back never moves it back. Returns whether the physical part moved.
    /// </summary>
    /// <exception cref="TsoNotReadyException">The oracle is not initialized.</exception>
    public async Task<bool> UpdateTimestampAsync(CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var previous = Volatile.Read(ref _slot) ?? throw new TsoNotReadyException("timestamp oracle");
            var now = NowMs();
            long next;
            if (now - previous.PhysicalMs > GuardMs)
            {
                next = now;
            }
            else if (Interlocked.Read(ref previous.Issued) > HybridTimestamp.LogicalRange / 2)
            {
                next = previous.PhysicalMs + GuardMs;
                if (now < previous.PhysicalMs)
                {
                    Log.ClockBehind(_logger, now, previous.PhysicalMs);
                }
            }
            else
            {
                return false;
            }
            try
            {
                await PublishAsync(next, forceSave: false, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // Counted for the overflow waits; the error goes to the caller.
                Interlocked.Increment(ref _failedUpdates);
                throw;
            }
            return true;
        }
        finally
        {
            _writeGate.Release();
            Signal();
        }
    }

    /// <summary>
    /// Moves the clock forward so that every new timestamp is above <paramref name="timestamp"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// The timestamp is not ahead of the current clock by more than 3 ms, or is further ahead of the wall clock
    /// than <see cref="TsoOptions.MaxResetGapSeconds"/>.
    /// </exception>
    public async Task ResetUserTimestampAsync(HybridTimestamp timestamp, CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var previous = Volatile.Read(ref _slot) ?? throw new TsoNotReadyException("timestamp oracle");
            var next = timestamp.PhysicalMs + GuardMs;
            if (next - previous.PhysicalMs <= 3 * GuardMs)
            {
                throw new ArgumentOutOfRangeException(nameof(timestamp), timestamp.Value,
                    $"The timestamp is too small: its physical part must be more than {3 * GuardMs} ms past the current {previous.PhysicalMs}.");
            }
            var maxGapMs = _options.MaxResetGapSeconds * 1000L;
            if (next - NowMs() > maxGapMs)
            {
                throw new ArgumentOutOfRangeException(nameof(timestamp), timestamp.Value,
                    $"The timestamp is too far ahead: at most {_options.MaxResetGapSeconds} s past the wall clock.");
            }
            await PublishAsync(next, forceSave: true, cancellationToken).ConfigureAwait(false);
            Log.UserReset(_logger, timestamp.Value, next);
        }
        finally
        {
            _writeGate.Release();
            Signal();
        }
    }

    /// <summary>Forgets the clock (for example when this process stops being the active oracle); Init starts it again.</summary>
    public void ResetTimestamp()
    {
        _writeGate.Wait();
        try
        {
            Volatile.Write(ref _slot, null);
            Interlocked.Exchange(ref _savedMs, 0);
        }
        finally
        {
            _writeGate.Release();
            Signal();
        }
    }

    /// <summary>
    /// The first of <paramref name="count"/> contiguous timestamps, all in one physical millisecond. When the
    /// logical range is exhausted, waits for the next update, at most <see cref="TsoOptions.MaxOverflowWaits"/>
    /// times, then fails with <see cref="TsoExhaustedException"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is 0 or larger than 262144.</exception>
    /// <exception cref="TsoNotReadyException">The oracle is not initialized.</exception>
    public ValueTask<HybridTimestamp> GenerateTsoAsync(uint count, CancellationToken cancellationToken = default)
    {
        if (count is 0 or > (uint)HybridTimestamp.LogicalRange)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"A batch holds 1 to {HybridTimestamp.LogicalRange} timestamps.");
        }
        return TryGenerate(count, out var first) ? new ValueTask<HybridTimestamp>(first) : WaitAndGenerateAsync(count, cancellationToken);
    }

    ValueTask<HybridTimestamp> ITimestampAllocator.AllocAsync(uint count, CancellationToken cancellationToken) =>
        GenerateTsoAsync(count, cancellationToken);

    ValueTask<HybridTimestamp> ITimestampAllocator.AllocOneAsync(CancellationToken cancellationToken) =>
        GenerateTsoAsync(1, cancellationToken);

    private bool TryGenerate(uint count, out HybridTimestamp first)
    {
        var slot = Volatile.Read(ref _slot) ?? throw new TsoNotReadyException("timestamp oracle");
        var end = Interlocked.Add(ref slot.Issued, count);
        if (end <= HybridTimestamp.LogicalRange)
        {
            first = new HybridTimestamp(((ulong)slot.PhysicalMs << HybridTimestamp.LogicalBits) | (ulong)(end - count));
            return true;
        }
        first = default;
        return false;
    }

    private async ValueTask<HybridTimestamp> WaitAndGenerateAsync(uint count, CancellationToken cancellationToken)
    {
        // Waits are counted so that a stuck oracle fails requests but a busy one never does. Every update attempt
        // that failed to move the clock counts (the window cannot be persisted), and so does each wait that timed out
        // because no update came (the updater is stalled). Successful updates count once per try of this request
        // that still found no room, however many ran while it was descheduled: a slow caller is only failed after
        // MaxOverflowWaits real chances.
        var waitLimit = TimeSpan.FromMilliseconds(2 * _options.UpdateIntervalMs);
        var lastSeen = Interlocked.Read(ref _updateAttempts);
        var failedAtStart = Interlocked.Read(ref _failedUpdates);
        var waits = 0;
        while (true)
        {
            // Take the signal before trying again, so that an update between the two is never missed.
            var updated = NextUpdate;
            var seen = Interlocked.Read(ref _updateAttempts);
            var failed = Interlocked.Read(ref _failedUpdates) - failedAtStart;
            if (TryGenerate(count, out var first))
            {
                return first;
            }
            if (seen != lastSeen)
            {
                waits++;
                lastSeen = seen;
            }
            if (Math.Max(waits, failed) >= _options.MaxOverflowWaits)
            {
                Log.Exhausted(_logger, count, _options.MaxOverflowWaits);
                throw new TsoExhaustedException(count, _options.MaxOverflowWaits);
            }
            try
            {
                await updated.WaitAsync(waitLimit, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                waits++;
            }
        }
    }

    /// <summary>Persists the window when needed, and only then makes <paramref name="next"/> the current millisecond.</summary>
    private async Task PublishAsync(long next, bool forceSave, CancellationToken cancellationToken)
    {
        if (forceSave || Interlocked.Read(ref _savedMs) - next <= GuardMs)
        {
            var save = next + _options.SaveIntervalMs;
            try
            {
                await SavedValue.SaveAsync(_kv, Key, Interlocked.Read(ref _savedMs), save, cancellationToken).ConfigureAwait(false);
            }
            catch (TsoFencedException)
            {
                // Deposed: issue nothing more until Init loads the other oracle's window.
                Volatile.Write(ref _slot, null);
                Interlocked.Exchange(ref _savedMs, 0);
                throw;
            }
            Interlocked.Exchange(ref _savedMs, save);
        }
        Volatile.Write(ref _slot, new PhysicalSlot(next));
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private void Signal()
    {
        Interlocked.Increment(ref _updateAttempts);
        Interlocked.Exchange(ref _updated, NewSignal()).TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>One physical millisecond and how many of its logical values have been taken.</summary>
    private sealed class PhysicalSlot(long physicalMs)
    {
        public readonly long PhysicalMs = physicalMs;
        public long Issued;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Timestamp oracle at {Key} loaded saved time {SavedMs}; continuing from {NextMs}.")]
        public static partial void Initialized(ILogger logger, string key, long savedMs, long nextMs);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Debug, Message = "The wall clock ({NowMs}) is behind the oracle ({PhysicalMs}); moving forward by the logical overflow only.")]
        public static partial void ClockBehind(ILogger logger, long nowMs, long physicalMs);

        [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Timestamp oracle reset by the user to above {Timestamp}; continuing from {NextMs}.")]
        public static partial void UserReset(ILogger logger, ulong timestamp, long nextMs);

        [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "No room for {Count} timestamps after {Waits} updates.")]
        public static partial void Exhausted(ILogger logger, uint count, int waits);
    }
}
