using System.Globalization;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Milvus.Domain.Mq.Nats;

/// <summary>The NATS queue's retention: RocksMQ's rules over the batches (JetStream messages) of each channel.</summary>
public sealed partial class NatsMqClient
{
    // How many idempotency key records a retention pass reads to find the expired ones.
    private const int KeySweepBudget = 1000;

    /// <summary>
    /// One retention pass over every channel with <paramref name="options"/>' rules (see <see cref="NatsMqOptions"/>):
    /// only batches that every group has read whole (below the lowest group position) may go, by age and then by size,
    /// the oldest first, with one purge of the channel's subject below the first batch that stays; the channel's newest
    /// batch always stays, so that <see cref="GetLatestMsgIdAsync"/> still answers. A group that seeks
    /// back between the look and the purge can find the batches it sought to gone, as on RocksMQ within a page. It also
    /// removes what a destroy interrupted by a NATS failure left behind (records and batches of dead incarnations), and
    /// expired idempotency keys (up to 1,000 records read per pass, going on where the last pass stopped).
    /// Returns how many batches went and each channel's batch count after it.
    /// </summary>
    /// <param name="options">The rules.</param>
    /// <param name="keepFrom">
    /// Per channel, the first msg id that must stay whatever the groups have read: where a subscription or an archiver
    /// resumes after a restart (0: the whole channel stays).
    /// </param>
    /// <param name="cancellationToken">Cancels the pass.</param>
    /// <exception cref="MqUnavailableException">NATS does not answer.</exception>
    public Task<NatsRetentionResult> RunRetentionAsync(NatsMqOptions options, IReadOnlyDictionary<string, long>? keepFrom = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Run(async () =>
        {
            // Data, groups and keys are listed before the channels: a channel created after the channel listing has nothing in
            // the earlier listings, so nothing live is taken for a leftover.
            var data = await SubjectsAsync(_data!, _prefix + ".d.*", cancellationToken).ConfigureAwait(false);
            var groups = await SubjectsAsync(_meta!, _prefix + ".m.g.>", cancellationToken).ConfigureAwait(false);
            var keys = await SubjectsAsync(_meta!, _prefix + ".m.k.>", cancellationToken).ConfigureAwait(false);
            var channels = await SubjectsAsync(_meta!, _prefix + ".m.c.*", cancellationToken).ConfigureAwait(false);
            var live = new Dictionary<ulong, string>();
            foreach (var subject in channels.Keys)
            {
                if (await LastAsync(_meta!, subject, cancellationToken).ConfigureAwait(false) is { } record)
                {
                    live[record.Seq] = FromToken(subject[(_prefix.Length + ".m.c.".Length)..]);
                }
            }
            var groupsOf = new Dictionary<ulong, List<string>>();
            foreach (var subject in groups.Keys)
            {
                var rest = subject[(_prefix.Length + ".m.g.".Length)..];
                var dot = rest.IndexOf('.', StringComparison.Ordinal);
                if (dot > 0 && ulong.TryParse(rest.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var incarnation))
                {
                    if (!groupsOf.TryGetValue(incarnation, out var list))
                    {
                        groupsOf[incarnation] = list = [];
                    }
                    list.Add(subject);
                }
            }
            long trimmed = 0;
            var lengths = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var incarnation in groupsOf.Keys.Where(i => !live.ContainsKey(i)))
            {
                await _meta!.PurgeAsync(new StreamPurgeRequest { Filter = GroupSubject(incarnation, "*", raw: true) }, cancellationToken).ConfigureAwait(false);
            }
            foreach (var (subject, count) in data)
            {
                if (!ulong.TryParse(subject.AsSpan(_prefix.Length + ".d.".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var incarnation))
                {
                    continue;
                }
                if (!live.TryGetValue(incarnation, out var channel))
                {
                    await _data!.PurgeAsync(new StreamPurgeRequest { Filter = subject }, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                var gone = await TrimAsync(channel, incarnation, groupsOf.GetValueOrDefault(incarnation), options, keepFrom, cancellationToken).ConfigureAwait(false);
                trimmed += gone;
                lengths[channel] = count - gone;
            }
            await SweepKeysAsync(keys.Keys, live, KeySweepBudget, cancellationToken).ConfigureAwait(false);
            foreach (var channel in live.Values.Where(c => !lengths.ContainsKey(c)))
            {
                lengths[channel] = 0;
            }
            return new NatsRetentionResult(trimmed, lengths);
        }, cancellationToken);
    }

    /// <summary>Trims one channel; returns how many batches went.</summary>
    private async Task<long> TrimAsync(string channel, ulong incarnation, List<string>? groupSubjects, NatsMqOptions options, IReadOnlyDictionary<string, long>? keepFrom, CancellationToken cancellationToken)
    {
        if (groupSubjects is not { Count: > 0 })
        {
            return 0;
        }
        // Batches below this sequence are read whole by every group.
        var below = ulong.MaxValue;
        foreach (var subject in groupSubjects)
        {
            if (await LastAsync(_meta!, subject, cancellationToken).ConfigureAwait(false) is { } record)
            {
                below = Math.Min(below, Position(record.Data.Span).Seq);
            }
        }
        if (keepFrom is not null && keepFrom.TryGetValue(channel, out var floor))
        {
            below = Math.Min(below, floor <= 0 ? 0 : NatsMqBatch.Seq(floor));
        }
        // The newest batch stays, as RocksMQ's open page does, so that the channel's latest msg id is still known.
        if (await LastAsync(_data!, DataSubject(incarnation), cancellationToken).ConfigureAwait(false) is { } newest)
        {
            below = Math.Min(below, newest.Seq);
        }
        if (below <= 1 || below == ulong.MaxValue)
        {
            return 0;
        }
        var read = await WalkAsync(DataSubject(incarnation), below, cancellationToken).ConfigureAwait(false);
        var delete = 0;
        if (options.RetentionTimeInMinutes >= 0)
        {
            var oldest = _time.GetUtcNow() - TimeSpan.FromMinutes(options.RetentionTimeInMinutes);
            while (delete < read.Count && read[delete].Time <= oldest)
            {
                delete++;
            }
        }
        if (options.RetentionSizeInMB >= 0)
        {
            var limit = options.RetentionSizeInMB * 1024 * 1024;
            var kept = read.Sum(b => b.Bytes);
            var bySize = 0;
            for (; bySize < read.Count && kept > limit; bySize++)
            {
                kept -= read[bySize].Bytes;
            }
            delete = Math.Max(delete, bySize);
        }
        if (delete == 0)
        {
            return 0;
        }
        var response = await _data!.PurgeAsync(new StreamPurgeRequest { Filter = DataSubject(incarnation), Seq = read[delete - 1].Seq + 1 }, cancellationToken).ConfigureAwait(false);
        Log.RetentionPurged(_logger, channel, (long)response.Purged);
        return (long)response.Purged;
    }

    /// <summary>Sequence, time and size of the subject's batches below <paramref name="below"/>, oldest first, read as headers only.</summary>
    private async Task<List<(ulong Seq, DateTimeOffset Time, long Bytes)>> WalkAsync(string subject, ulong below, CancellationToken cancellationToken)
    {
        var batches = new List<(ulong Seq, DateTimeOffset Time, long Bytes)>();
        var consumer = await _js.CreateOrderedConsumerAsync(DataStream, new NatsJSOrderedConsumerOpts
        {
            FilterSubjects = [subject],
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            HeadersOnly = true,
        }, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var got = 0;
            var past = false;
            await foreach (var message in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1000 }, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                got++;
                if (message.Metadata is not { } metadata || metadata.Sequence.Stream >= below)
                {
                    past = true;
                    break;
                }
                var size = message.Headers is { } headers && headers.TryGetValue("Nats-Msg-Size", out var value)
                    && long.TryParse(value.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes : 0;
                batches.Add((metadata.Sequence.Stream, metadata.Timestamp, size));
            }
            if (got == 0 || past)
            {
                return batches;
            }
        }
    }
}

/// <summary>What a NATS retention pass did: how many batches it removed, and each channel's batch count after it.</summary>
public sealed record NatsRetentionResult(long Trimmed, IReadOnlyDictionary<string, long> Lengths);
