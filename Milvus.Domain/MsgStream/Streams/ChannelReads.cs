using System.Threading.Channels;
using Milvus.Domain.Mq;

namespace Milvus.Domain.MsgStream.Streams;

/// <summary>
/// The reads of a stream's pump. Each channel the pump asks for gets a reader loop on the thread pool that reads
/// batches one after the other (each read waiting up to a bound for messages) into a buffer of one batch, so the
/// next batch is read while the pump decodes the last one, and one idle channel never delays another. A channel
/// is read at most two batches ahead of the pump: the buffered one and the one its reader holds. Owned by the
/// pump, which drains it before it ends.
/// </summary>
/// <remarks>
/// Not thread-safe: the pump drives it. A reader hands a batch over with no thread switch when the pump is busy, and
/// the pump takes one with none when a batch is buffered; a read per task (the former design) cost two switches a
/// batch, which on two cores outweighed the overlap.
/// </remarks>
internal sealed class ChannelReads(IMqClient mq, IReadOnlyList<string> channels, string group, int batchSize, TimeSpan wait, CancellationToken cancellationToken)
{
    private readonly Channel<IReadOnlyList<MqMessage>>?[] _buffers = new Channel<IReadOnlyList<MqMessage>>?[channels.Count];
    private readonly Task?[] _readers = new Task?[channels.Count];
    private readonly bool[] _wanted = new bool[channels.Count];
    // The pending wait of each channel's buffer, reused by later waits so that an idle channel holds one waiter.
    private readonly Task<bool>?[] _waits = new Task<bool>?[channels.Count];
    // Stops the readers when the pump is cancelled, and when it ends for any other reason (see DrainAsync).
    private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    private int _next;

    public IReadOnlyList<string> Channels => channels;

    public string Group => group;

    public int Count => channels.Count;

    /// <summary>
    /// Asks for the next batch of channel <paramref name="index"/>, which <see cref="NextAsync"/> then returns once
    /// it is read. Starts the channel's reader on the first call.
    /// </summary>
    public void Request(int index)
    {
        _wanted[index] = true;
        if (_buffers[index] is null)
        {
            var buffer = Channel.CreateBounded<IReadOnlyList<MqMessage>>(new BoundedChannelOptions(1)
            {
                FullMode = BoundedChannelFullMode.Wait,
                SingleReader = true,
                SingleWriter = true,
            });
            _buffers[index] = buffer;
            _readers[index] = Task.Run(() => ReadLoopAsync(channels[index], buffer.Writer, _stop.Token), _stop.Token);
        }
    }

    /// <summary>
    /// Returns the next batch of a channel asked for with <see cref="Request"/>, taking the channels in turn when
    /// several have one, and waits when none has. A channel's request is used up by the batch returned for it.
    /// </summary>
    /// <exception cref="InvalidOperationException">No channel is asked for.</exception>
    /// <exception cref="Exception">The reader of an asked-for channel failed: its error.</exception>
    public async Task<(int Index, IReadOnlyList<MqMessage> Messages)> NextAsync()
    {
        while (true)
        {
            var any = false;
            for (var step = 0; step < _wanted.Length; step++)
            {
                var index = (_next + step) % _wanted.Length;
                if (!_wanted[index])
                {
                    continue;
                }
                any = true;
                if (_buffers[index]!.Reader.TryRead(out var batch))
                {
                    _wanted[index] = false;
                    _next = (index + 1) % _wanted.Length;
                    return (index, batch);
                }
            }
            if (!any)
            {
                throw new InvalidOperationException("The stream waits for channels but reads none.");
            }
            await WhenAnyReadableAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stops the readers once the pump stops, and waits for them. Their outcome is dropped on purpose: the pump stops
    /// because it was cancelled or failed, and that cause is what its readers see.
    /// </summary>
    public async Task DrainAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        var readers = _readers.Where(t => t is not null).Select(t => t!).ToArray();
        Array.Clear(_readers);
        await Task.WhenAll(readers).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task WhenAnyReadableAsync()
    {
        var waits = new List<Task<bool>>(_wanted.Length);
        for (var index = 0; index < _wanted.Length; index++)
        {
            if (!_wanted[index])
            {
                continue;
            }
            if (_waits[index] is not { IsCompleted: false } pending)
            {
                pending = _buffers[index]!.Reader.WaitToReadAsync(cancellationToken).AsTask();
                _waits[index] = pending;
            }
            waits.Add(pending);
        }
        var done = await Task.WhenAny(waits).ConfigureAwait(false);
        // A reader that failed completed its buffer with the error, which surfaces here.
        if (!await done.ConfigureAwait(false))
        {
            throw new InvalidOperationException("A channel's reader stopped without an error.");
        }
    }

    /// <summary>Reads one channel into its buffer until cancelled; a failure completes the buffer with the error.</summary>
    private async Task ReadLoopAsync(string channel, ChannelWriter<IReadOnlyList<MqMessage>> buffer, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                var batch = await mq.ConsumeAsync(channel, group, batchSize, wait, stop).ConfigureAwait(false);
                if (batch.Count > 0)
                {
                    await buffer.WriteAsync(batch, stop).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex)
        {
            buffer.TryComplete(ex);
            throw;
        }
    }
}
