using Milvus.Domain.Mq;

namespace Milvus.Domain.MsgStream.Streams;

/// <summary>
/// The reads a stream's pump has in flight: at most one per channel, each waiting up to a bound for messages, so
/// that one idle channel never delays another. Owned by the pump, which drains it before it ends.
/// </summary>
/// <remarks>Not thread-safe: the pump drives it.</remarks>
internal sealed class ChannelReads(IMqClient mq, IReadOnlyList<string> channels, string group, int batchSize, TimeSpan wait, CancellationToken cancellationToken)
{
    private readonly Task<IReadOnlyList<MqMessage>>?[] _pending = new Task<IReadOnlyList<MqMessage>>?[channels.Count];

    public IReadOnlyList<string> Channels => channels;

    public string Group => group;

    public int Count => channels.Count;

    /// <summary>
    /// Starts a read of channel <paramref name="index"/> unless one is in flight. The read runs on the thread pool,
    /// because a backend may read synchronously when messages are there (RocksMQ does): so the next batch is read
    /// while the pump decodes the last one.
    /// </summary>
    public void Request(int index) =>
        _pending[index] ??= Task.Run(() => mq.ConsumeAsync(channels[index], group, batchSize, wait, cancellationToken), cancellationToken);

    /// <summary>Waits for the first read in flight to finish and returns its channel and messages (maybe none).</summary>
    /// <exception cref="InvalidOperationException">No read is in flight.</exception>
    public async Task<(int Index, IReadOnlyList<MqMessage> Messages)> NextAsync()
    {
        var inFlight = _pending.Where(t => t is not null).Select(t => t!).ToArray();
        if (inFlight.Length == 0)
        {
            throw new InvalidOperationException("The stream waits for channels but reads none.");
        }
        var done = await Task.WhenAny(inFlight).ConfigureAwait(false);
        var index = Array.IndexOf(_pending, done);
        _pending[index] = null;
        return (index, await done.ConfigureAwait(false));
    }

    /// <summary>
    /// Waits for the reads still in flight once the pump stops. Their outcome is dropped on purpose: the pump
    /// stops because it was cancelled or failed, and that cause is what its readers see.
    /// </summary>
    public async Task DrainAsync()
    {
        var inFlight = _pending.Where(t => t is not null).Select(t => (Task)t!).ToArray();
        Array.Clear(_pending);
        await Task.WhenAll(inFlight).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
