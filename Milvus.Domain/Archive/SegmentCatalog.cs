using System.Globalization;
using System.Text.Json;
using Milvus.Domain.Kv;
using Milvus.Domain.MsgStream;

namespace Milvus.Domain.Archive;

/// <summary>
/// Where archived segments live. Each segment is one object in the object store under a key derived from its
/// channel, its id and its start position, so a segment written again after a crash lands on the same key. Its
/// metadata and the channel's checkpoint live in the meta store under <c>archive/&lt;channel&gt;/</c>, and
/// <see cref="CommitAsync"/> records both in one atomic step, after the object is written.
/// <see cref="PurgeChannelAsync"/> deletes a channel's archive in the opposite order: metadata first, objects after.
/// </summary>
public sealed class SegmentCatalog(ITxnKv meta, IBaseKv objects, UnmarshalDispatcher? dispatcher = null)
{
    private const string Root = "archive/";
    private const string PurgeRoot = "archive-purges/";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly UnmarshalDispatcher _dispatcher = dispatcher ?? new UnmarshalDispatcher();

    /// <summary>The object store the segments are written to.</summary>
    public IBaseKv Objects => objects;

    /// <summary>The object key of segment <paramref name="segmentId"/> of <paramref name="channel"/>, which starts at <paramref name="start"/>.</summary>
    public static string ObjectKey(string channel, long segmentId, MsgPosition start)
    {
        ArgumentNullException.ThrowIfNull(start);
        return string.Create(CultureInfo.InvariantCulture, $"{Root}{channel}/{segmentId:D20}-{start.MsgId}-{start.Timestamp}.seg");
    }

    /// <summary>The channel's checkpoint, or null when nothing of it is archived yet.</summary>
    public async Task<ArchiveCheckpoint?> LoadCheckpointAsync(string channel, CancellationToken cancellationToken)
    {
        try
        {
            var stored = await meta.LoadAsync(CheckpointKey(channel), cancellationToken).ConfigureAwait(false);
            return JsonSerializer.Deserialize<ArchiveCheckpoint>(stored, Json);
        }
        catch (KvKeyNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Writes the segment's object. Call <see cref="CommitAsync"/> after it.</summary>
    public Task WriteObjectAsync(string objectKey, string encoded, CancellationToken cancellationToken) =>
        objects.SaveAsync(objectKey, encoded, cancellationToken);

    /// <summary>Records <paramref name="segment"/> and moves the channel's checkpoint past it, in one atomic step.</summary>
    public Task CommitAsync(string channel, SegmentInfo segment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(segment);
        var checkpoint = new ArchiveCheckpoint(segment.SegmentId + 1, segment.EndPosition);
        var saves = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [SegmentKey(channel, segment.SegmentId)] = JsonSerializer.Serialize(segment, Json),
            [CheckpointKey(channel)] = JsonSerializer.Serialize(checkpoint, Json),
        };
        return meta.MultiSaveAndRemoveAsync(saves, [], cancellationToken);
    }

    /// <summary>The channel's segments in id order, which is time order.</summary>
    public async Task<IReadOnlyList<SegmentInfo>> ListSegmentsAsync(string channel, CancellationToken cancellationToken)
    {
        var found = await meta.LoadWithPrefixAsync(SegmentsPrefix(channel), cancellationToken).ConfigureAwait(false);
        return [.. found.Values.Select(v => JsonSerializer.Deserialize<SegmentInfo>(v, Json)!)];
    }

    /// <summary>One segment's metadata.</summary>
    /// <exception cref="SegmentNotFoundException">The channel has no such segment.</exception>
    public async Task<SegmentInfo> GetSegmentAsync(string channel, long segmentId, CancellationToken cancellationToken)
    {
        try
        {
            var stored = await meta.LoadAsync(SegmentKey(channel, segmentId), cancellationToken).ConfigureAwait(false);
            return JsonSerializer.Deserialize<SegmentInfo>(stored, Json)!;
        }
        catch (KvKeyNotFoundException)
        {
            throw new SegmentNotFoundException(channel, segmentId);
        }
    }

    /// <summary>The msgs of a recorded segment, in the order they were archived.</summary>
    /// <exception cref="SegmentNotFoundException">The channel has no such segment.</exception>
    /// <exception cref="SegmentFormatException">The segment's object cannot be read.</exception>
    public async Task<IReadOnlyList<TsMsg>> ReadMsgsAsync(string channel, long segmentId, CancellationToken cancellationToken)
    {
        var segment = await GetSegmentAsync(channel, segmentId, cancellationToken).ConfigureAwait(false);
        var stored = await objects.LoadAsync(segment.ObjectKey, cancellationToken).ConfigureAwait(false);
        return [.. SegmentCodec.Decode(stored).Select(bytes => _dispatcher.Unmarshal(bytes.Span))];
    }

    /// <summary>
    /// Deletes everything archived of <paramref name="channel"/>. First one atomic meta step removes its segments'
    /// metadata and its checkpoint and records a purge marker, so no metadata ever names a deleted object; then its
    /// objects go, and then the marker. A crash or an object store error in between leaves the marker, and
    /// <see cref="ResumePurgesAsync"/> finishes the job. Call it only once the channel's archiving graph is stopped.
    /// </summary>
    public async Task PurgeChannelAsync(string channel, CancellationToken cancellationToken)
    {
        await BeginPurgeAsync(channel, cancellationToken).ConfigureAwait(false);
        await FinishPurgeAsync(channel, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The first step of <see cref="PurgeChannelAsync"/> alone: in one atomic meta step, the channel's segment
    /// metadata and checkpoint go and a purge marker is recorded. Its objects stay until the purge is resumed.
    /// </summary>
    public Task BeginPurgeAsync(string channel, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        return meta.MultiSaveAndRemoveWithPrefixAsync(
            new Dictionary<string, string>(StringComparer.Ordinal) { [PurgeKey(channel)] = channel }, [ChannelPrefix(channel)], cancellationToken);
    }

    /// <summary>The channels whose purge has begun (their metadata is gone) but whose objects may remain.</summary>
    public async Task<IReadOnlyList<string>> ListPendingPurgesAsync(CancellationToken cancellationToken)
    {
        var found = await meta.LoadWithPrefixAsync(PurgeRoot, cancellationToken).ConfigureAwait(false);
        return [.. found.Keys.Select(k => k[PurgeRoot.Length..])];
    }

    /// <summary>The channels that have archived metadata (a checkpoint or segments).</summary>
    public async Task<IReadOnlyList<string>> ListArchivedChannelsAsync(CancellationToken cancellationToken)
    {
        var found = await meta.LoadWithPrefixAsync(Root, cancellationToken).ConfigureAwait(false);
        return [.. found.Keys.Select(k => k[Root.Length..].Split('/', 2)[0]).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Finishes every purge that a crash or an object store error interrupted; returns the channels finished.</summary>
    public async Task<IReadOnlyList<string>> ResumePurgesAsync(CancellationToken cancellationToken)
    {
        var pending = await ListPendingPurgesAsync(cancellationToken).ConfigureAwait(false);
        foreach (var channel in pending)
        {
            await FinishPurgeAsync(channel, cancellationToken).ConfigureAwait(false);
        }
        return pending;
    }

    private async Task FinishPurgeAsync(string channel, CancellationToken cancellationToken)
    {
        await objects.RemoveWithPrefixAsync(ChannelPrefix(channel), cancellationToken).ConfigureAwait(false);
        await meta.RemoveAsync(PurgeKey(channel), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What every meta key and object key of the channel's archive starts with.</summary>
    private static string ChannelPrefix(string channel) => $"{Root}{channel}/";

    private static string PurgeKey(string channel) => PurgeRoot + channel;

    private static string CheckpointKey(string channel) => $"{Root}{channel}/checkpoint";

    private static string SegmentsPrefix(string channel) => $"{Root}{channel}/segments/";

    private static string SegmentKey(string channel, long segmentId) =>
        string.Create(CultureInfo.InvariantCulture, $"{SegmentsPrefix(channel)}{segmentId:D20}");
}
