using System.Threading.Channels;
using Milvus.Domain.Kv;

namespace Milvus.Tests.Kv;

/// <summary>
/// Reads a live watch in the background so a test can first make sure it is established (a watch without a
/// revision only sees changes made after the backend registered it), then read the events that follow.
/// </summary>
internal sealed class WatchRecorder
{
    private const string Probe = "probe";
    private static readonly TimeSpan ProbeWait = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Channel<KvEvent> _events = Channel.CreateBounded<KvEvent>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.Wait });
    private readonly Task _pump;

    public WatchRecorder(IAsyncEnumerable<KvWatchResponse> watch)
    {
        _pump = PumpAsync(watch);
    }

    /// <summary>Writes the value "probe" with <paramref name="probe"/> until the watch reports one.</summary>
    public async Task WaitUntilLiveAsync(Func<Task> probe)
    {
        using var patience = new CancellationTokenSource(Patience);
        while (true)
        {
            await probe();
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(patience.Token);
            wait.CancelAfter(ProbeWait);
            try
            {
                if (await _events.Reader.WaitToReadAsync(wait.Token))
                {
                    return;
                }
                throw new InvalidOperationException("The watch ended before it saw a probe.");
            }
            catch (OperationCanceledException) when (!patience.IsCancellationRequested)
            {
                // Not live yet: probe again.
            }
        }
    }

    /// <summary>The next <paramref name="count"/> events that are not probes.</summary>
    public async Task<List<KvEvent>> NextAsync(int count)
    {
        using var patience = new CancellationTokenSource(Patience);
        var events = new List<KvEvent>();
        while (events.Count < count)
        {
            var e = await _events.Reader.ReadAsync(patience.Token);
            if (e.Value != Probe)
            {
                events.Add(e);
            }
        }
        return events;
    }

    /// <summary>Waits for the background reader to end after the watch was cancelled.</summary>
    public Task StopAsync() => _pump;

    private async Task PumpAsync(IAsyncEnumerable<KvWatchResponse> watch)
    {
        try
        {
            await foreach (var response in watch)
            {
                foreach (var e in response.Events)
                {
                    await _events.Writer.WriteAsync(e);
                }
            }
            _events.Writer.TryComplete();
        }
        catch (OperationCanceledException)
        {
            _events.Writer.TryComplete();
        }
        catch (KvException e)
        {
            // The reader sees the failure.
            _events.Writer.TryComplete(e);
        }
    }
}
