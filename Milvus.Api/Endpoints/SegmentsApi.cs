using Microsoft.AspNetCore.Http.HttpResults;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Workers.Archive;

namespace Milvus.Api.Endpoints;

/// <summary>The segments the archiving flow graph wrote for a channel, and the msgs of each.</summary>
public static class SegmentsApi
{
    public static IEndpointRouteBuilder MapSegmentsApi(this IEndpointRouteBuilder app)
    {
        var segments = app.MapGroup("/api/v1/channels/{channel}/segments").WithTags("Archived segments")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        segments.MapGet("/", ListSegments)
            .WithName("ListSegments")
            .WithSummary("The channel's archived segments in time order: { segmentId, beginTs, endTs, numMsgs, sizeBytes (of the stored object), objectKey, startPosition, endPosition }. segmentId counts the channel's segments from 1. 404 for a channel that neither exists nor has segments.");
        segments.MapGet("/{segmentId}", GetSegment)
            .WithName("GetSegment")
            .WithSummary("The msgs of one archived segment, in archive order: { msgs: [{ msgType, id, beginTs, endTs, hashKeys, payload }] }. payload is the body of a payload msg; for the typed msgs (Insert, Delete, Flush, TimeTick, collection and partition requests) it is the msg's whole wire form (TsMsg marshal). 404 for an unknown channel or segment.");
        return app;
    }

    /// <summary>Lists a channel's segments.</summary>
    public static async Task<Results<Ok<SegmentsResponse>, ValidationProblem>> ListSegments(
        string channel, SegmentCatalog catalog, IMqClient mq, CancellationToken cancellationToken)
    {
        if (NameErrors(channel) is { } errors)
        {
            return errors;
        }
        var list = await catalog.ListSegmentsAsync(channel, cancellationToken);
        if (list.Count == 0 && !await mq.ChannelExistsAsync(channel, cancellationToken))
        {
            throw new MqChannelNotFoundException(channel);
        }
        return TypedResults.Ok(new SegmentsResponse(list));
    }

    /// <summary>Reads one segment's msgs.</summary>
    public static async Task<Results<Ok<SegmentMsgsResponse>, ValidationProblem>> GetSegment(
        string channel, long segmentId, SegmentCatalog catalog, CancellationToken cancellationToken)
    {
        if (NameErrors(channel) is { } errors)
        {
            return errors;
        }
        var msgs = await catalog.ReadMsgsAsync(channel, segmentId, cancellationToken);
        return TypedResults.Ok(new SegmentMsgsResponse([.. msgs.Select(ArchivedMsg.From)]));
    }

    private static ValidationProblem? NameErrors(string channel) =>
        MqNames.IsValid(channel)
            ? null
            : TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["channel"] = [$"'{channel}' is not a valid channel name: use 1 to 255 letters, digits, '_', '-' or '.'."] },
                title: "One or more fields are invalid.");
}

/// <summary>A channel's segments, in time order.</summary>
public sealed record SegmentsResponse(IReadOnlyList<SegmentInfo> Segments);

/// <summary>The msgs of one segment.</summary>
public sealed record SegmentMsgsResponse(IReadOnlyList<ArchivedMsg> Msgs);

/// <summary>An archived msg.</summary>
public sealed record ArchivedMsg(MsgType MsgType, long Id, ulong BeginTs, ulong EndTs, IReadOnlyList<uint> HashKeys, byte[] Payload)
{
    /// <summary>The JSON form of <paramref name="msg"/>: a payload msg's body, or a typed msg's wire form.</summary>
    public static ArchivedMsg From(TsMsg msg)
    {
        ArgumentNullException.ThrowIfNull(msg);
        var payload = msg is PayloadMsg plain ? plain.Payload.ToArray() : msg.Marshal();
        return new ArchivedMsg(msg.Type, msg.Id, msg.BeginTs, msg.EndTs, msg.HashKeys, payload);
    }
}
