using Microsoft.AspNetCore.Http.HttpResults;
using Milvus.Domain.Archive;
using Milvus.Domain.Mq;

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
            .WithSummary("The msgs of one archived segment, in archive order: { msgs: [msg] }, each msg in the form it was produced in (a typed body as JSON, or its payload), as a consume answers it. 404 for an unknown channel or segment.");
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
        return TypedResults.Ok(new SegmentMsgsResponse([.. msgs.Select(StreamMsgs.ToJson)]));
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
public sealed record SegmentMsgsResponse(IReadOnlyList<StreamMsg> Msgs);

