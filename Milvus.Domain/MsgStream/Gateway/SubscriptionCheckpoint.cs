using System.Text.Json;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream.Streams;

namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>Where a consume subscription resumes on one channel.</summary>
/// <param name="ChannelName">The channel.</param>
/// <param name="MsgId">The queue message to resume at (or after); 0 means the channel's earliest message.</param>
/// <param name="Timestamp">
/// For a time-ticked subscription, the tick of the last pack answered: messages up to it are dropped until the
/// channel reaches a tick at or above it (the stream's seek semantics).
/// </param>
/// <param name="After">Resume after <paramref name="MsgId"/> instead of at it (it was answered already).</param>
public sealed record ResumePoint(string ChannelName, long MsgId, ulong Timestamp, bool After);

/// <summary>
/// What a consume subscription reads and where it resumes, kept in the meta KV so that a subscription outlives its
/// gateway's restart (or crash) without skipping what its stream had read ahead but not yet answered. A consume call
/// acknowledges the answer before it: the checkpoint moves past a pack only when the next consume of the same
/// subscription arrives, so a restart answers again at most the last pack (at least once, never lost).
/// <paramref name="SavedAtMs"/> (Unix milliseconds) tells an idle sweep on any gateway how long ago a gateway that
/// holds the subscription last saved it.
/// </summary>
public sealed record SubscriptionCheckpoint(string[] Channels, bool TimeTickAligned, ResumePoint[] Points, long SavedAtMs = 0)
{
    /// <summary>Where the subscriptions' checkpoints live in the meta KV.</summary>
    public const string KeyPrefix = "msgstream/subscriptions/";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The meta KV key of subscription <paramref name="subName"/>.</summary>
    public static string Key(string subName) => KeyPrefix + subName;

    /// <summary>
    /// The checkpoint of a new subscription that starts at <paramref name="start"/>: the earliest message, or just after
    /// each channel's latest one (the earliest of a channel that holds none).
    /// </summary>
    public static async Task<SubscriptionCheckpoint> StartAsync(IMqClient mq, IReadOnlyList<string> channels, bool timeTickAligned, MqStartPosition start, CancellationToken cancellationToken)
    {
        var points = new ResumePoint[channels.Count];
        for (var i = 0; i < channels.Count; i++)
        {
            var latest = start == MqStartPosition.Latest ? await mq.GetLatestMsgIdAsync(channels[i], cancellationToken).ConfigureAwait(false) : null;
            points[i] = new ResumePoint(channels[i], latest ?? 0, 0, After: latest is not null);
        }
        return new SubscriptionCheckpoint([.. channels], timeTickAligned, points);
    }

    /// <summary>The checkpoint once <paramref name="pack"/>, read from this one, has been answered.</summary>
    public SubscriptionCheckpoint Past(MsgPack pack)
    {
        ArgumentNullException.ThrowIfNull(pack);
        // A time-ticked pack ends on every channel, at its first unsolved msg or at its tick: resume there. A plain
        // pack is one read of one channel, and its end position is the last msg it holds: resume after it.
        return With(pack.EndPositions, after: !TimeTickAligned);
    }

    /// <summary>The checkpoint once the subscription has sought to <paramref name="positions"/> (inclusive).</summary>
    public SubscriptionCheckpoint SoughtTo(IReadOnlyList<MsgPosition> positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        return With(positions, after: false);
    }

    /// <summary>
    /// Moves the consumer groups <paramref name="group"/> of <paramref name="stream"/>, a consumer that has not
    /// started, to this checkpoint: with the time-ticked seek when every point is a position to resume at (a pack's
    /// end, or a seek's position), and at the queue otherwise (a new subscription's start, or a plain one's).
    /// </summary>
    /// <exception cref="MqMsgIdNotFoundException">A point's message is no longer stored.</exception>
    public async Task ApplyAsync(IMqClient mq, IMsgStream stream, string group, CancellationToken cancellationToken)
    {
        if (TimeTickAligned && Points.All(p => !p.After) && Points.Any(p => p.MsgId > 0 || p.Timestamp > 0))
        {
            await stream.SeekAsync([.. Points.Select(p => new MsgPosition(p.ChannelName, p.MsgId, group, p.Timestamp))], cancellationToken).ConfigureAwait(false);
            return;
        }
        foreach (var point in Points)
        {
            if (point.MsgId <= 0)
            {
                await mq.SeekToAsync(point.ChannelName, group, MqStartPosition.Earliest, cancellationToken).ConfigureAwait(false);
                continue;
            }
            await mq.SeekAsync(point.ChannelName, group, point.MsgId, cancellationToken).ConfigureAwait(false);
            if (point.After)
            {
                // The seek found the message, so this one read takes exactly it.
                var answered = await mq.ConsumeAsync(point.ChannelName, group, 1, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (answered.Count != 1 || answered[0].MsgId != point.MsgId)
                {
                    throw new InvalidOperationException($"Stepping past message {point.MsgId} of channel '{point.ChannelName}' read {(answered.Count == 0 ? "nothing" : $"message {answered[0].MsgId}")}.");
                }
            }
        }
    }

    private SubscriptionCheckpoint With(IReadOnlyList<MsgPosition> positions, bool after)
    {
        var byChannel = new Dictionary<string, MsgPosition>(StringComparer.Ordinal);
        foreach (var position in positions)
        {
            byChannel[position.ChannelName] = position;
        }
        return this with { Points = Array.ConvertAll(Points, p => byChannel.TryGetValue(p.ChannelName, out var at)
            ? new ResumePoint(p.ChannelName, at.MsgId, at.Timestamp, after) : p) };
    }

    /// <summary>
    /// This checkpoint with every point whose message the queue no longer stores (retention trimmed it) moved to the
    /// channel's earliest stored message: all that is left there came after it. A time-ticked point keeps its tick,
    /// so that what was answered before stays dropped. Returns this instance when every message is stored.
    /// </summary>
    public async Task<SubscriptionCheckpoint> StoredAsync(IMqClient mq, string group, CancellationToken cancellationToken)
    {
        ResumePoint[]? moved = null;
        for (var i = 0; i < Points.Length; i++)
        {
            var point = Points[i];
            if (point.MsgId <= 0)
            {
                continue;
            }
            try
            {
                await mq.SeekAsync(point.ChannelName, group, point.MsgId, cancellationToken).ConfigureAwait(false);
            }
            catch (MqMsgIdNotFoundException)
            {
                moved ??= [.. Points];
                moved[i] = point with { MsgId = 0, After = false };
            }
        }
        return moved is null ? this : this with { Points = moved };
    }

    /// <summary>Loads the checkpoint of <paramref name="subName"/>, or null when it has none.</summary>
    public static async Task<SubscriptionCheckpoint?> LoadAsync(ITxnKv meta, string subName, CancellationToken cancellationToken)
    {
        string json;
        try
        {
            json = await meta.LoadAsync(Key(subName), cancellationToken).ConfigureAwait(false);
        }
        catch (KvKeyNotFoundException)
        {
            return null;
        }
        return Parse(subName, json);
    }

    /// <summary>Saves this as the checkpoint of <paramref name="subName"/>, stamped with the time now; returns what it saved.</summary>
    public async Task<SubscriptionCheckpoint> SaveAsync(ITxnKv meta, string subName, TimeProvider time, CancellationToken cancellationToken)
    {
        var saved = this with { SavedAtMs = time.GetUtcNow().ToUnixTimeMilliseconds() };
        await meta.SaveAsync(Key(subName), JsonSerializer.Serialize(saved, Json), cancellationToken).ConfigureAwait(false);
        return saved;
    }

    /// <summary>Reads a checkpoint saved under <paramref name="subName"/>.</summary>
    /// <exception cref="SubscriptionCheckpointUnreadableException">The value is not a checkpoint.</exception>
    public static SubscriptionCheckpoint Parse(string subName, string json)
    {
        SubscriptionCheckpoint? checkpoint;
        try
        {
            checkpoint = JsonSerializer.Deserialize<SubscriptionCheckpoint>(json, Json);
        }
        catch (JsonException ex)
        {
            throw new SubscriptionCheckpointUnreadableException(subName, ex.Message, ex);
        }
        if (checkpoint is not { Channels: { Length: > 0 } channels, Points: { } points }
            || points.Length != channels.Length
            || !channels.All(MqNames.IsValid)
            || !points.Select(p => p?.ChannelName).SequenceEqual(channels))
        {
            throw new SubscriptionCheckpointUnreadableException(subName, "it does not name its channels and a resume point for each", null);
        }
        return checkpoint;
    }

    /// <summary>Whether this checkpoint reads <paramref name="channels"/>, in that order, with that alignment.</summary>
    public bool Reads(IReadOnlyList<string> channels, bool timeTickAligned) =>
        TimeTickAligned == timeTickAligned && Channels.SequenceEqual(channels, StringComparer.Ordinal);
}

/// <summary>A kept subscription's checkpoint is not readable (409: delete the subscription, which removes it).</summary>
public sealed class SubscriptionCheckpointUnreadableException(string subName, string problem, Exception? inner)
    : Exception($"Subscription '{subName}' is kept with a checkpoint that is not readable ({problem}); delete the subscription to start it afresh.", inner), IMilvusError
{
    public ErrorKind Kind => ErrorKind.Conflict;
}
