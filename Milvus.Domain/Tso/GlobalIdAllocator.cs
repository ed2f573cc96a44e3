using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Milvus.Domain.Kv;

namespace Milvus.Domain.Tso;

/// <summary>
/// The global id allocator (seed A.6): the oracle's clock with the logical part allowed to carry into the
/// physical part, so an id is a hybrid timestamp and a batch may span milliseconds. Its high-water mark, above
/// every id ever handed out, is persisted under <see cref="Key"/> before any id below it is handed out; a start
/// continues above it, so no id is issued twice across restarts and kill -9. The hot path is one interlocked add.
/// </summary>
public sealed partial class GlobalIdAllocator : IIdAllocator
{
    /// <summary>Where the high-water mark lives in the meta KV (under the KV's root path).</summary>
    public const string DefaultKey = "tso/id";

    /// <summary>The largest batch one call may take.</summary>
    public const uint MaxCount = 1_000_000;

    private readonly ITxnKv _kv;
    private readonly TimeProvider _time;
    private readonly long _windowIds;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private long _next;
    private long _saved;
    private volatile bool _ready;

    public GlobalIdAllocator(ITxnKv kv, TimeProvider time, TsoOptions options, ILogger<GlobalIdAllocator>? logger = null, string key = DefaultKey)
    {
        SavedValue.CheckArguments(kv, time, options, key);
        _kv = kv;
        _time = time;
        _windowIds = (long)options.SaveIntervalMs << HybridTimestamp.LogicalBits;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Key = key;
    }

    /// <summary>The meta KV key of the high-water mark.</summary>
    public string Key { get; }

    /// <summary>Whether the allocator has loaded its high-water mark and hands out ids.</summary>
    public bool IsReady => _ready;

    /// <summary>The next id to hand out.</summary>
    public long Next => Interlocked.Read(ref _next);

    /// <summary>The persisted high-water mark: every id handed out so far is below it.</summary>
    public long SavedHighWater => Interlocked.Read(ref _saved);

    /// <summary>Loads the high-water mark and continues above it (or at the wall clock's id, when that is higher).</summary>
    public async Task InitAsync(CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var saved = await SavedValue.LoadAsync(_kv, Key, cancellationToken).ConfigureAwait(false);
            _ready = false;
            Interlocked.Exchange(ref _saved, saved);
            var next = Math.Max(saved, NowId());
            await SaveAsync(next + _windowIds, cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _next, next);
            _ready = true;
            Log.Initialized(_logger, Key, saved, next);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>
    /// Moves the next id up to the wall clock's id when it is behind, and extends the persisted window when less
    /// than half of it is left, so that the hot path rarely waits for the KV.
    /// </summary>
    public async Task UpdateAsync(CancellationToken cancellationToken = default)
    {
        if (!_ready)
        {
            throw new TsoNotReadyException("id allocator");
        }
        var nowId = NowId();
        var next = Interlocked.Read(ref _next);
        while (next < nowId)
        {
            var seen = Interlocked.CompareExchange(ref _next, nowId, next);
            if (seen == next)
            {
                next = nowId;
                break;
            }
            next = seen;
        }
        if (Interlocked.Read(ref _saved) - next < _windowIds / 2)
        {
            await ExtendAsync(next, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops handing out ids until Init runs again.</summary>
    public void Reset() => _ready = false;

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is 0 or above <see cref="MaxCount"/>.</exception>
    /// <exception cref="TsoNotReadyException">The allocator is not initialized.</exception>
    public ValueTask<IdRange> AllocAsync(uint count, CancellationToken cancellationToken = default)
    {
        if (count is 0 or > MaxCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"A batch holds 1 to {MaxCount} ids.");
        }
        if (!_ready)
        {
            throw new TsoNotReadyException("id allocator");
        }
        var end = Interlocked.Add(ref _next, count);
        var range = new IdRange(end - count, end);
        return end <= Interlocked.Read(ref _saved)
            ? new ValueTask<IdRange>(range)
            : CoverAsync(range, cancellationToken);
    }

    public async ValueTask<long> AllocOneAsync(CancellationToken cancellationToken = default) =>
        (await AllocAsync(1, cancellationToken).ConfigureAwait(false)).Begin;

    /// <summary>Hands out a range reserved past the persisted mark once the mark covers it.</summary>
    private async ValueTask<IdRange> CoverAsync(IdRange range, CancellationToken cancellationToken)
    {
        await ExtendAsync(range.End, cancellationToken).ConfigureAwait(false);
        return range;
    }

    private async Task ExtendAsync(long atLeast, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Interlocked.Read(ref _saved) - atLeast < _windowIds / 2)
            {
                await SaveAsync(Math.Max(atLeast, NowId()) + _windowIds, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private async Task SaveAsync(long highWater, CancellationToken cancellationToken)
    {
        try
        {
            await SavedValue.SaveAsync(_kv, Key, Interlocked.Read(ref _saved), highWater, cancellationToken).ConfigureAwait(false);
        }
        catch (TsoFencedException)
        {
            // Deposed: another allocator continues above our mark; hand out nothing more until Init.
            _ready = false;
            throw;
        }
        Interlocked.Exchange(ref _saved, highWater);
    }

    private long NowId() => _time.GetUtcNow().ToUnixTimeMilliseconds() << HybridTimestamp.LogicalBits;

    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Id allocator at {Key} loaded high-water mark {Saved}; continuing from {Next}.")]
        public static partial void Initialized(ILogger logger, string key, long saved, long next);
    }
}
