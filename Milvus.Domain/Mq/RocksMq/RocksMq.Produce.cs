using System.Buffers.Binary;
using Milvus.Domain.Tso;
using RocksDbSharp;

namespace Milvus.Domain.Mq.RocksMq;

/// <summary>RocksMQ's produce: batches queued per channel and written by a group commit.</summary>
public sealed partial class RocksMq
{
    /// <summary>
    /// Appends a batch. Concurrent produces on one channel are committed together (group commit): the first caller
    /// in the channel's queue leads, writes every queued batch (up to <see cref="MaxCombinedMessages"/>) in one
    /// atomic RocksDB write, and hands the lead to the next queued caller. Each call still returns only when its
    /// own messages are written, and their ids keep the order of the writes. Cancellation is honoured until the
    /// batch is queued; a queued batch is written.
    /// </summary>
    public async Task<IReadOnlyList<long>> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        ArgumentNullException.ThrowIfNull(payloads);
        if (payloads.Count == 0)
        {
            throw new MqInvalidArgumentException("A batch needs at least one message.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        using var lease = database.Acquire();
        var state = GetChannel(channel);
        var request = new RocksMqProduceRequest(payloads);
        if (state.EnqueueProduce(request) || !await request.Done.ConfigureAwait(false))
        {
            await LeadProduceAsync(state).ConfigureAwait(false);
        }
        return request.Error is null ? request.Ids : throw request.Error;
    }

    /// <summary>The most messages one group commit writes; a single larger batch is still written whole.</summary>
    internal const int MaxCombinedMessages = 10_000;

    /// <summary>Writes the batches at the head of the channel's queue in one write, then passes the lead on.</summary>
    private async Task LeadProduceAsync(RocksMqChannel state)
    {
        var batch = state.TakeProduceBatch(MaxCombinedMessages);
        try
        {
            // Destroy holds the produce gate while it deletes, so a write never lands in a destroyed channel.
            await state.ProduceGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (state.Destroyed)
                {
                    throw new MqChannelNotFoundException(state.Name);
                }
                var count = batch.Sum(r => r.Payloads.Count);
                var range = await ids.AllocAsync((uint)count, CancellationToken.None).ConfigureAwait(false);
                Append(state, batch, range);
            }
            finally
            {
                state.ProduceGate.Release();
            }
            state.Notify();
            foreach (var written in batch)
            {
                written.Complete();
            }
        }
        catch (Exception ex)
        {
            // Not swallowed: every caller in the batch, the leader included, throws it.
            foreach (var failed in batch)
            {
                failed.Fail(ex);
            }
        }
        finally
        {
            state.PassProduceLead();
        }
    }

    private void Append(RocksMqChannel state, List<RocksMqProduceRequest> requests, IdRange range)
    {
        var total = requests.Sum(r => r.Payloads.Count);
        if (range.Count != total || range.Begin <= state.EndId)
        {
            throw new MqUnavailableException(
                $"The id allocator issued [{range.Begin}, {range.End}) for {total} messages on channel '{state.Name}', whose latest id is {state.EndId}.");
        }
        List<RocksMqPage>? closed = null;
        var openBytes = state.OpenPageBytes;
        var openCount = state.OpenPageCount;
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var payloadBytes = 0L;
        var msgId = range.Begin;
        Span<byte> key = stackalloc byte[state.DataPrefix.Length + sizeof(long)];
        using var batch = new WriteBatch();
        foreach (var request in requests)
        {
            var payloads = request.Payloads;
            var produced = request.Ids;
            for (var i = 0; i < payloads.Count; i++, msgId++)
            {
                produced[i] = msgId;
                RocksMqKeys.WriteDataKey(state.DataPrefix, msgId, key);
                var payload = payloads[i].Span;
                batch.Put(key, payload, database.Data);
                payloadBytes += payload.Length;
                openBytes += key.Length + payload.Length;
                openCount++;
                if (openBytes >= _options.PageSize)
                {
                    var page = new RocksMqPage(msgId, openBytes, openCount, nowMs);
                    batch.Put(RocksMqKeys.PageKey(state.Name, msgId), RocksMqKeys.PageValue(page), database.Meta);
                    (closed ??= []).Add(page);
                    openBytes = 0;
                    openCount = 0;
                }
            }
        }
        var endId = msgId - 1;
        Span<byte> endValue = stackalloc byte[sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(endValue, endId);
        batch.Put(state.EndIdKey, endValue, database.Meta);
        Write(batch, "produce");
        lock (state.Gate)
        {
            if (closed is not null)
            {
                state.Pages.AddRange(closed);
            }
            state.OpenPageBytes = openBytes;
            state.OpenPageCount = openCount;
            state.EndId = endId;
        }
        RocksMqMetrics.Produced(payloadBytes);
    }
}
