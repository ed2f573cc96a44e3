using System.Net.ServerSentEvents;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Milvus.Api.Infrastructure;
using Milvus.Domain.Sessions;

namespace Milvus.Api.Endpoints;

/// <summary>Service discovery (seed A.2): the registered sessions, and a Server-Sent Events stream of their changes.</summary>
public static partial class SessionsApi
{
    public static IEndpointRouteBuilder MapSessionsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/sessions").WithTags("Sessions");
        group.MapGet("", GetSessions)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithName("GetSessions")
            .WithSummary("The registered sessions whose key (name-id, or name for an exclusive role's active holder) starts with prefix, in key order, with the meta KV revision they were read at. An empty prefix lists all.");
        group.MapGet("/watch", WatchSessions)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithName("WatchSessions")
            .WithSummary("A Server-Sent Events stream of { eventType: Add | Update | Del, session } for the sessions under prefix. With revision R (the revision of GET /api/v1/sessions), it starts with the changes made after R, so nothing is missed between the list and the watch; without it, it starts now. A put of a new key is Add, a change (stopping) is Update, a removal or an expired lease is Del. When the meta KV has compacted its history past R, the answer is a 409 problem, before any event, naming the compacted revision (compactRevision) and the current one (currentRevision): list again and watch from the new revision.");
        return app;
    }

    /// <summary>The sessions under a prefix and the revision they were read at.</summary>
    public static async Task<Results<Ok<SessionsResponse>, ValidationProblem>> GetSessions(string? prefix, ServiceDiscovery discovery, CancellationToken cancellationToken)
    {
        if (Invalid(prefix, 0) is { } problem)
        {
            return problem;
        }
        var listed = await discovery.GetSessionsAsync(prefix ?? "", cancellationToken);
        return TypedResults.Ok(new SessionsResponse(listed.Sessions, listed.Revision));
    }

    /// <summary>The changes of the sessions under a prefix, after a revision or from now, as Server-Sent Events.</summary>
    public static async Task<Results<EventStreamResult<SessionEvent>, ValidationProblem, ProblemHttpResult>> WatchSessions(
        string? prefix, long? revision, ServiceDiscovery discovery, CancellationToken cancellationToken)
    {
        if (Invalid(prefix, revision ?? 0) is { } problem)
        {
            return problem;
        }
        try
        {
            var events = await discovery.WatchServicesAsync(prefix ?? "", revision is > 0 ? revision.Value + 1 : 0, cancellationToken);
            return new EventStreamResult<SessionEvent>(AsEvents(events));
        }
        catch (SessionWatchCompactedException e)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Revision compacted",
                detail: $"Revision {revision} is compacted: the meta KV keeps its history from revision {e.CompactRevision} on, and the current revision is {e.CurrentRevision}. List the sessions again (GET /api/v1/sessions) and watch from the revision of that listing.",
                extensions: new Dictionary<string, object?>
                {
                    ["revision"] = revision,
                    ["compactRevision"] = e.CompactRevision,
                    ["currentRevision"] = e.CurrentRevision,
                });
        }
    }

    private static async IAsyncEnumerable<SseItem<SessionEvent>> AsEvents(IAsyncEnumerable<SessionEvent> events)
    {
        await foreach (var change in events.ConfigureAwait(false))
        {
            yield return new SseItem<SessionEvent>(change, "session");
        }
    }

    private static ValidationProblem? Invalid(string? prefix, long revision)
    {
        var errors = new Dictionary<string, string[]>();
        if (prefix is not null && !PrefixPattern().IsMatch(prefix))
        {
            errors["prefix"] = ["A prefix holds up to 255 letters, digits, '_', '-' and '.'."];
        }
        if (revision < 0)
        {
            errors["revision"] = ["A revision is not negative."];
        }
        return errors.Count == 0 ? null : TypedResults.ValidationProblem(errors, title: "One or more fields are invalid.");
    }

    [GeneratedRegex(@"^[A-Za-z0-9_\-\.]{0,255}\z")]
    private static partial Regex PrefixPattern();
}

/// <summary>The answer of <c>GET /api/v1/sessions</c>.</summary>
public sealed record SessionsResponse(IReadOnlyList<SessionInfo> Sessions, long Revision);
