using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Milvus.Domain.Mq.Nats;

/// <summary>The NATS queue's idempotency keys: a record per key in the meta stream, and the batch's <c>Nats-Msg-Id</c>.</summary>
public sealed partial class NatsMqClient
{
    // How far before its pending record a dead call's batch may bear a timestamp (clocks of the servers that stored them).
    private static readonly TimeSpan StaleMargin = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Appends a batch at most once per key. The key's record (<c>{prefix}.m.k.{incarnation}.{SHA-256 of the key}</c>)
    /// is created pending with a random token by a compare-and-set, the batch is published with that token as its
    /// <c>Nats-Msg-Id</c>, and the record is then marked done with the batch's sequence. A caller that finds a pending
    /// record of the same fingerprint publishes the batch with the same token: JetStream stores it once within the data
    /// stream's duplicate window and answers the others the first one's sequence. So a gateway that dies between the
    /// record and the publish is settled by the next retry; past half that window, the retry first looks for a batch
    /// with the token among the subject's headers (only one that retention already removed is missed).
    /// </summary>
    public Task<MqProduced> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, MqProduceKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ValidateBatch(channel, payloads);
        return Run(async () =>
        {
            var incarnation = await IncarnationAsync(channel, cancellationToken).ConfigureAwait(false) ?? throw new MqChannelNotFoundException(channel);
            var subject = KeySubject(incarnation, key.Key);
            for (var attempt = 0; attempt < MaxConflicts; attempt++)
            {
                var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                var stored = await LastAsync(_meta!, subject, cancellationToken).ConfigureAwait(false);
                var record = stored is null ? null : KeyRecord.Decode(stored.Data.Span);
                if (record is not null && record.ExpiresAtMs > now)
                {
                    if (record.Count != payloads.Count || !record.Fingerprint.AsSpan().SequenceEqual(key.Fingerprint.Span))
                    {
                        throw new MqIdempotencyKeyReusedException(channel, key.Key);
                    }
                    if (record.Seq > 0)
                    {
                        return new MqProduced(Ids(record.Seq, record.Count), Replayed: true, record.Note);
                    }
                    // Pending: its writer is publishing, or died before it could; publishing with its token settles both.
                    // Past half the duplicate window, JetStream may have forgotten the token: look for the batch first.
                    if (_time.GetUtcNow() - stored!.Time > DuplicateWindow() / 2
                        && await FindByMsgIdAsync(incarnation, MsgIdOf(record.Token), stored.Time - StaleMargin, cancellationToken).ConfigureAwait(false) is { } found)
                    {
                        await TryReplaceAsync(subject, (record with { Seq = found }).Encode(), stored.Seq, cancellationToken).ConfigureAwait(false);
                        return new MqProduced(Ids(found, record.Count), Replayed: true, record.Note);
                    }
                    return await SettleAsync(channel, incarnation, subject, stored.Seq, record, payloads, cancellationToken).ConfigureAwait(false);
                }
                var created = new KeyRecord(key.Fingerprint.ToArray(), payloads.Count, now + (long)key.Lifetime.TotalMilliseconds, RandomNumberGenerator.GetBytes(16), 0, key.Note.ToArray());
                var written = await TryPutAsync(subject, created.Encode(), stored?.Seq ?? 0, cancellationToken).ConfigureAwait(false);
                if (written > 0)
                {
                    return await SettleAsync(channel, incarnation, subject, written, created, payloads, cancellationToken).ConfigureAwait(false);
                }
                // Another caller wrote the record meanwhile: look again.
            }
            throw new MqUnavailableException($"Idempotency key '{key.Key}' on channel '{channel}' kept changing under this produce; try again.");
        }, cancellationToken);
    }

    public async Task<ReadOnlyMemory<byte>?> FindProduceKeyAsync(string channel, string key, CancellationToken cancellationToken = default)
    {
        if (!MqNames.IsValid(channel) || !MqProduceKey.IsValid(key))
        {
            return null;
        }
        var fingerprint = await Run<byte[]?>(async () =>
        {
            if (await IncarnationAsync(channel, cancellationToken).ConfigureAwait(false) is not { } incarnation
                || await LastAsync(_meta!, KeySubject(incarnation, key), cancellationToken).ConfigureAwait(false) is not { } stored)
            {
                return null;
            }
            var record = KeyRecord.Decode(stored.Data.Span);
            return record.ExpiresAtMs > _time.GetUtcNow().ToUnixTimeMilliseconds() ? record.Fingerprint : null;
        }, cancellationToken).ConfigureAwait(false);
        // Not in a conditional with the bytes: null would become an empty memory there, not a null one.
        if (fingerprint is null)
        {
            return null;
        }
        return fingerprint;
    }

    /// <summary>
    /// Publishes the batch of a pending record with its token and marks the record done; a duplicate publish (another
    /// caller's, or a dead gateway's) is a replay of that one.
    /// </summary>
    private async Task<MqProduced> SettleAsync(string channel, ulong incarnation, string subject, ulong recordSeq, KeyRecord record,
        IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken)
    {
        var (seq, duplicate) = await PublishBatchAsync(channel, incarnation, payloads, MsgIdOf(record.Token), cancellationToken).ConfigureAwait(false);
        // Losing this compare-and-set is fine: another caller marked it done with the same sequence (the same token got
        // it), or the key expired and was taken again.
        await TryReplaceAsync(subject, (record with { Seq = seq }).Encode(), recordSeq, cancellationToken).ConfigureAwait(false);
        return new MqProduced(Ids(seq, payloads.Count), Replayed: duplicate, record.Note);
    }

    /// <summary>The data stream's duplicate window (JetStream's default when the stream leaves it unset).</summary>
    private TimeSpan DuplicateWindow() =>
        _data!.Info.Config.DuplicateWindow is var window && window > TimeSpan.Zero ? window : TimeSpan.FromMinutes(2);

    /// <summary>
    /// The sequence of the batch on the incarnation's data subject, stored from about <paramref name="since"/> on, whose
    /// <c>Nats-Msg-Id</c> is <paramref name="msgId"/>; null when there is none. Reads headers only, to the subject's end.
    /// </summary>
    private async Task<ulong?> FindByMsgIdAsync(ulong incarnation, string msgId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var consumer = await _js.CreateOrderedConsumerAsync(DataStream, new NatsJSOrderedConsumerOpts
        {
            FilterSubjects = [DataSubject(incarnation)],
            DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartTime,
            OptStartTime = since,
            HeadersOnly = true,
        }, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var got = 0;
            await foreach (var message in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1000 }, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                got++;
                if (message.Headers is { } headers && headers.TryGetValue("Nats-Msg-Id", out var value)
                    && string.Equals(value.ToString(), msgId, StringComparison.Ordinal) && message.Metadata is { } metadata)
                {
                    return metadata.Sequence.Stream;
                }
            }
            if (got == 0)
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Drops the key records (listed before the live channels were) of dead incarnations, and expired ones of live
    /// channels, reading at most
    /// <paramref name="budget"/> records per pass (the next pass goes on after the last subject read).
    /// </summary>
    private async Task SweepKeysAsync(ICollection<string> subjects, IReadOnlyDictionary<ulong, string> live, int budget, CancellationToken cancellationToken)
    {
        var dead = new HashSet<ulong>();
        var from = _keySweepFrom;
        var ordered = subjects.Order(StringComparer.Ordinal).ToList();
        var start = ordered.FindIndex(s => string.CompareOrdinal(s, from) > 0);
        var read = 0;
        var last = "";
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 0; i < ordered.Count; i++)
        {
            var subject = ordered[(Math.Max(start, 0) + i) % ordered.Count];
            var rest = subject.AsSpan(_prefix.Length + ".m.k.".Length);
            var dot = rest.IndexOf('.');
            if (dot <= 0 || !ulong.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var incarnation))
            {
                continue;
            }
            if (!live.ContainsKey(incarnation))
            {
                dead.Add(incarnation);
                continue;
            }
            if (read >= budget)
            {
                continue;
            }
            read++;
            last = subject;
            if (await LastAsync(_meta!, subject, cancellationToken).ConfigureAwait(false) is { } stored
                && KeyRecord.Decode(stored.Data.Span).ExpiresAtMs <= now)
            {
                // Only this record: a key taken again since then stays.
                await _meta!.PurgeAsync(new StreamPurgeRequest { Filter = subject, Seq = stored.Seq + 1 }, cancellationToken).ConfigureAwait(false);
            }
        }
        _keySweepFrom = read >= budget ? last : "";
        foreach (var incarnation in dead)
        {
            await _meta!.PurgeAsync(new StreamPurgeRequest { Filter = KeySubject(incarnation, "*", raw: true) }, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The subject of a key's record: subject tokens cannot hold every key character, so the key's SHA-256.</summary>
    internal string KeySubject(ulong incarnation, string key, bool raw = false) =>
        string.Create(CultureInfo.InvariantCulture, $"{_prefix}.m.k.{incarnation}.{(raw ? key : Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(key))))}");

    /// <summary>The <c>Nats-Msg-Id</c> of the batch of the key record with <paramref name="token"/>.</summary>
    internal static string MsgIdOf(byte[] token) => "k" + Convert.ToHexStringLower(token);

    /// <summary>
    /// A key's record: the fingerprint and count of its batch, when it expires (Unix ms), the token that is the batch's
    /// <c>Nats-Msg-Id</c>, the batch's sequence once it is stored (0 while pending), and the caller's note. Stored as a
    /// version byte (1), the fingerprint (32 bytes), count (i32), expiry (i64), token (16 bytes), sequence (u64) and the
    /// note, little-endian.
    /// </summary>
    internal sealed record KeyRecord(byte[] Fingerprint, int Count, long ExpiresAtMs, byte[] Token, ulong Seq, byte[] Note)
    {
        private const byte Version = 1;
        private const int FingerprintAt = 1;
        private const int CountAt = FingerprintAt + MqProduceKey.FingerprintBytes;
        private const int ExpiresAt = CountAt + 4;
        private const int TokenAt = ExpiresAt + 8;
        private const int SeqAt = TokenAt + 16;
        private const int NoteAt = SeqAt + 8;

        /// <summary>The record's bytes.</summary>
        public byte[] Encode()
        {
            var data = new byte[NoteAt + Note.Length];
            data[0] = Version;
            Fingerprint.CopyTo(data, FingerprintAt);
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(CountAt), Count);
            BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(ExpiresAt), ExpiresAtMs);
            Token.CopyTo(data, TokenAt);
            BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(SeqAt), Seq);
            Note.CopyTo(data, NoteAt);
            return data;
        }

        /// <summary>The record in <paramref name="data"/>.</summary>
        /// <exception cref="FormatException">The bytes are not a key record.</exception>
        public static KeyRecord Decode(ReadOnlySpan<byte> data) =>
            data.Length >= NoteAt && data[0] == Version
                ? new KeyRecord(
                    data.Slice(FingerprintAt, MqProduceKey.FingerprintBytes).ToArray(),
                    BinaryPrimitives.ReadInt32LittleEndian(data[CountAt..]),
                    BinaryPrimitives.ReadInt64LittleEndian(data[ExpiresAt..]),
                    data.Slice(TokenAt, 16).ToArray(),
                    BinaryPrimitives.ReadUInt64LittleEndian(data[SeqAt..]),
                    data[NoteAt..].ToArray())
                : throw new FormatException("An idempotency key record is not one.");
    }
}
