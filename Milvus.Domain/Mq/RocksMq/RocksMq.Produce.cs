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
    public async Task<IReadOnlyList<long>> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken = default) =>
        (await EnqueueProduceAsync(channel, payloads, null, cancellationToken).ConfigureAwait(false)).Ids;

    /// <summary>
    /// Appends a batch at most once per key: the key's record is looked up and written under the channel's produce
    /// gate, in the same write as the batch, so a crash leaves both or neither.
    /// </summary>
    public async Task<MqProduced> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, MqProduceKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var request = await EnqueueProduceAsync(channel, payloads, key, cancellationToken).ConfigureAwait(false);
        return new MqProduced(request.Ids, request.Replayed, request.Note);
    }

    public Task<ReadOnlyMemory<byte>?> FindProduceKeyAsync(string channel, string key, CancellationToken cancellationToken = default)
    {
        if (!MqNames.IsValid(channel) || !MqProduceKey.IsValid(key))
        {
            return Task.FromResult<ReadOnlyMemory<byte>?>(null);
        }
        using var lease = database.Acquire();
        if (!_channels.TryGetValue(channel, out var state))
        {
            return Task.FromResult<ReadOnlyMemory<byte>?>(null);
        }
        var stored = database.Io(() => database.Db.Get(RocksMqKeyRecord.Key(state.DataPrefix, key), database.Keys), "read an idempotency key");
        return Task.FromResult<ReadOnlyMemory<byte>?>(
            stored is not null && RocksMqKeyRecord.TryDecode(stored, out var record) && record.ExpiresAtMs > time.GetUtcNow().ToUnixTimeMilliseconds()
                ? (ReadOnlyMemory<byte>?)record.Fingerprint
                : null);
    }

    private async Task<RocksMqProduceRequest> EnqueueProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, MqProduceKey? key, CancellationToken cancellationToken)
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
        var request = new RocksMqProduceRequest(payloads, key);
        if (state.EnqueueProduce(request) || !await request.Done.ConfigureAwait(false))
        {
            await LeadProduceAsync(state).ConfigureAwait(false);
        }
        return request.Error is null ? request : throw request.Error;
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
                var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
                var (writing, replays) = ResolveKeys(state, batch, nowMs);
                if (writing.Count > 0)
                {
                    var count = writing.Sum(r => r.Payloads.Count);
                    var range = await ids.AllocAsync((uint)count, CancellationToken.None).ConfigureAwait(false);
                    Append(state, writing, range, nowMs);
                }
                foreach (var (replay, first) in replays)
                {
                    first.Ids.CopyTo(replay.Ids, 0);
                    replay.Note = first.Note;
                }
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

    /// <summary>
    /// Splits a group commit into the requests to write and those whose key was used before: a stored, unexpired
    /// record with the same fingerprint makes a replay (its ids are filled in now); one of another fingerprint fails
    /// that request alone. A key used twice within the group commit replays the first of them, once it is written.
    /// </summary>
    private (List<RocksMqProduceRequest> Writing, List<(RocksMqProduceRequest Replay, RocksMqProduceRequest First)> Replays) ResolveKeys(
        RocksMqChannel state, List<RocksMqProduceRequest> batch, long nowMs)
    {
        if (batch.TrueForAll(r => r.Key is null))
        {
            return (batch, []);
        }
        var writing = new List<RocksMqProduceRequest>(batch.Count);
        var replays = new List<(RocksMqProduceRequest, RocksMqProduceRequest)>();
        var firsts = new Dictionary<string, RocksMqProduceRequest>(StringComparer.Ordinal);
        foreach (var request in batch)
        {
            if (request.Key is not { } key)
            {
                writing.Add(request);
                continue;
            }
            if (firsts.TryGetValue(key.Key, out var first))
            {
                if (first.Key!.Fingerprint.Span.SequenceEqual(key.Fingerprint.Span))
                {
                    request.Replayed = true;
                    replays.Add((request, first));
                }
                else
                {
                    request.Fail(new MqIdempotencyKeyReusedException(state.Name, key.Key));
                }
                continue;
            }
            var stored = database.Io(() => database.Db.Get(RocksMqKeyRecord.Key(state.DataPrefix, key.Key), database.Keys), "read an idempotency key");
            if (stored is not null && RocksMqKeyRecord.TryDecode(stored, out var record) && record.ExpiresAtMs > nowMs)
            {
                if (record.Count == request.Payloads.Count && record.Fingerprint.Span.SequenceEqual(key.Fingerprint.Span))
                {
                    for (var i = 0; i < record.Count; i++)
                    {
                        request.Ids[i] = record.FirstId + i;
                    }
                    request.Replayed = true;
                    request.Note = record.Note;
                }
                else
                {
                    request.Fail(new MqIdempotencyKeyReusedException(state.Name, key.Key));
                }
                continue;
            }
            firsts[key.Key] = request;
            writing.Add(request);
        }
        return (writing, replays);
    }

    private void Append(RocksMqChannel state, List<RocksMqProduceRequest> requests, IdRange range, long nowMs)
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
        var payloadBytes = 0L;
        var msgId = range.Begin;
        Span<byte> key = stackalloc byte[state.DataPrefix.Length + sizeof(long)];
        using var batch = new WriteBatch();
        foreach (var request in requests)
        {
            var payloads = request.Payloads;
            var produced = request.Ids;
            if (request.Key is { } produceKey)
            {
                var record = new RocksMqKeyRecord(
                    nowMs + (long)produceKey.Lifetime.TotalMilliseconds, msgId, payloads.Count, produceKey.Fingerprint, produceKey.Note);
                batch.Put(RocksMqKeyRecord.Key(state.DataPrefix, produceKey.Key), record.Encode(), database.Keys);
            }
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
