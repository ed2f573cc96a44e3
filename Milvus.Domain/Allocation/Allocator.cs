using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Milvus.Domain.Allocation;

/// <summary>
/// The client-side batching allocator (seed A.5). A caller is served from the local cache when it can be;
/// otherwise its request joins a bounded queue. One loop drains the queue, serves what the cache holds, and
/// merges every request still waiting into one fetch from the source, so that many concurrent callers cost one
/// round trip. <see cref="CleanCache"/> drops the cache; <see cref="CloseAsync"/> stops the loop and fails
/// whatever is still waiting.
/// </summary>
/// <typeparam name="T">What one request is answered with (an id range, the first of a timestamp batch).</typeparam>
public abstract partial class Allocator<T> : IAsyncDisposable
{
    private readonly Channel<Request> _requests;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private readonly Lock _lifecycle = new();
    private Task? _loop;
    private bool _closed;
    private long _fetchCount;
    private int _refillRequested;

    protected Allocator(string role, int queueCapacity, ILogger? logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCapacity, 1);
        Role = role;
        _requests = Channel.CreateBounded<Request>(new BoundedChannelOptions(queueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>What the allocator hands out, for messages: <c>id</c> or <c>timestamp</c>.</summary>
    public string Role { get; }

    /// <summary>How many fetches from the source have completed.</summary>
    public long FetchCount => Interlocked.Read(ref _fetchCount);

    /// <summary>Starts the loop that serves queued requests. Calling it again does nothing.</summary>
    /// <exception cref="ObjectDisposedException">The allocator was closed.</exception>
    public void Start()
    {
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            _loop ??= RunAsync(_stopping.Token);
        }
    }

    /// <summary>Drops every cached value, so that the next request fetches from the source.</summary>
    public void CleanCache() => ClearCache();

    /// <summary>Stops the loop; queued and later requests fail with <see cref="ObjectDisposedException"/>.</summary>
    public async Task CloseAsync()
    {
        Task? loop;
        lock (_lifecycle)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
            loop = _loop;
        }
        _requests.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }
        FailAll(DrainQueue(), new ObjectDisposedException(GetType().Name, $"The {Role} allocator is closed."));
        _stopping.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Serves <paramref name="count"/> from the cache, or queues the request for the loop.</summary>
    protected async ValueTask<T> AllocCoreAsync(uint count, CancellationToken cancellationToken)
    {
        if (TryTake(count, out var cached))
        {
            return cached;
        }
        if (Volatile.Read(ref _loop) is null)
        {
            throw new InvalidOperationException($"The {Role} allocator is not started: call Start first.");
        }
        var request = new Request(count);
        try
        {
            await _requests.Writer.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(GetType().Name, $"The {Role} allocator is closed.");
        }
        using var registration = cancellationToken.Register(static r => ((Request)r!).Completion.TrySetCanceled(), request);
        return await request.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Takes <paramref name="count"/> from the cache when it holds enough. Thread-safe.</summary>
    protected abstract bool TryTake(uint count, out T result);

    /// <summary>
    /// Asks the loop to fetch ahead, before the cache runs dry, so that callers keep being served from it while
    /// the fetch is in flight. Cheap and safe to call often: at most one such request waits at a time.
    /// </summary>
    protected void RequestRefill()
    {
        if (Interlocked.CompareExchange(ref _refillRequested, 1, 0) == 0 && !_requests.Writer.TryWrite(Request.Refill))
        {
            Volatile.Write(ref _refillRequested, 0);
        }
    }

    /// <summary>Whether a requested refill is still worth a fetch when the loop gets to it.</summary>
    protected virtual bool NeedsRefill() => false;

    /// <summary>Fetches at least enough for <paramref name="need"/> (as much as one fetch may) into the cache.</summary>
    protected abstract Task FetchAsync(long need, CancellationToken cancellationToken);

    /// <summary>Drops the cache. Thread-safe.</summary>
    protected abstract void ClearCache();

    private async Task RunAsync(CancellationToken stopping)
    {
        var pending = new List<Request>();
        try
        {
            while (await _requests.Reader.WaitToReadAsync(stopping).ConfigureAwait(false))
            {
                var refill = false;
                while (_requests.Reader.TryRead(out var request))
                {
                    if (ReferenceEquals(request, Request.Refill))
                    {
                        refill = true;
                    }
                    else
                    {
                        pending.Add(request);
                    }
                }
                if (refill)
                {
                    Volatile.Write(ref _refillRequested, 0);
                    await RefillAsync(stopping).ConfigureAwait(false);
                }
                while (ServeFromCache(pending) > 0)
                {
                    try
                    {
                        await FetchAsync(pending.Sum(r => (long)r.Count), stopping).ConfigureAwait(false);
                        Interlocked.Increment(ref _fetchCount);
                    }
                    catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (Exception ex)
                    {
                        // The callers get the source's error; the loop keeps serving later requests.
                        Log.FetchFailed(_logger, ex, Role, pending.Count);
                        FailAll(pending, ex);
                        pending.Clear();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Closing.
        }
        FailAll(pending, new ObjectDisposedException(GetType().Name, $"The {Role} allocator is closed."));
    }

    /// <summary>Serves waiting requests in order from the cache; returns how many still wait.</summary>
    private async Task RefillAsync(CancellationToken stopping)
    {
        if (!NeedsRefill())
        {
            return;
        }
        try
        {
            await FetchAsync(0, stopping).ConfigureAwait(false);
            Interlocked.Increment(ref _fetchCount);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // Nobody waits on a refill: the next caller that finds the cache empty fetches, and sees any error.
            Log.FetchFailed(_logger, ex, Role, 0);
        }
    }

    private int ServeFromCache(List<Request> pending)
    {
        pending.RemoveAll(r => r.Completion.Task.IsCompleted);
        var served = 0;
        foreach (var request in pending)
        {
            if (!TryTake(request.Count, out var result))
            {
                break;
            }
            request.Completion.TrySetResult(result);
            served++;
        }
        pending.RemoveRange(0, served);
        return pending.Count;
    }

    private List<Request> DrainQueue()
    {
        var left = new List<Request>();
        while (_requests.Reader.TryRead(out var request))
        {
            left.Add(request);
        }
        return left;
    }

    private static void FailAll(List<Request> requests, Exception error)
    {
        foreach (var request in requests)
        {
            request.Completion.TrySetException(error);
        }
    }

    private sealed class Request(uint count)
    {
        /// <summary>The marker of a refill ahead of need; nobody waits on it.</summary>
        public static Request Refill { get; } = new(0);

        public uint Count { get; } = count;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4201, Level = LogLevel.Warning, Message = "The {Role} allocator could not fetch from its source; {Count} waiting requests fail.")]
        public static partial void FetchFailed(ILogger logger, Exception exception, string role, int count);
    }
}
