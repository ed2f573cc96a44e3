using Milvus.Domain.MsgStream;

namespace Milvus.Domain.Archive;

/// <summary>
/// One archived segment of a channel: the msgs a time-ticked stream released between two positions, stored as one
/// object. <paramref name="SegmentId"/> counts the channel's segments from 1, so id order is time order.
/// </summary>
/// <param name="SegmentId">The segment's number within its channel, from 1.</param>
/// <param name="BeginTs">The tick the first pack of the segment started after.</param>
/// <param name="EndTs">The tick the last pack of the segment ended at.</param>
/// <param name="NumMsgs">How many msgs the segment holds.</param>
/// <param name="SizeBytes">The size of the stored object, in bytes.</param>
/// <param name="ObjectKey">The object's key in the object store.</param>
/// <param name="StartPosition">Where reading the segment's msgs started.</param>
/// <param name="EndPosition">Where the next segment resumes.</param>
public sealed record SegmentInfo(
    long SegmentId,
    ulong BeginTs,
    ulong EndTs,
    int NumMsgs,
    long SizeBytes,
    string ObjectKey,
    MsgPosition StartPosition,
    MsgPosition EndPosition);

/// <summary>How far a channel is archived: the next segment's id and the stream position it starts from.</summary>
/// <param name="NextSegmentId">The id the next segment gets.</param>
/// <param name="Position">The end position of the last recorded segment; the graph seeks there on start.</param>
public sealed record ArchiveCheckpoint(long NextSegmentId, MsgPosition Position);

/// <summary>An archived segment that does not exist.</summary>
internal sealed class SegmentNotFoundException(string channel, long segmentId)
    : Exception($"Channel '{channel}' has no archived segment {segmentId}."), Domain.IMilvusError
{
    public Domain.ErrorKind Kind => Domain.ErrorKind.NotFound;
}

/// <summary>An archived segment object that cannot be read back.</summary>
internal sealed class SegmentFormatException(string message) : Exception(message);
