using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Milvus.Api.Infrastructure;
using Milvus.Domain.Telemetry;
using Milvus.Domain.Tso;
using Milvus.Workers.Tso.Http;

namespace Milvus.Api.Endpoints;

/// <summary>Timestamps and ids (seed A.6): <c>POST /api/v1/tso</c> and <c>POST /api/v1/ids</c>.</summary>
public static class TsoApi
{
    public static IEndpointRouteBuilder MapTsoApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1").WithTags("Timestamps and ids");
        group.MapPost("/tso", AllocateTimestamps)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithName("AllocateTimestamps")
            .WithSummary("A batch [timestamp, timestamp + count) of hybrid timestamps, strictly above every one issued before, also across restarts, crashes and failovers. 1 ≤ count ≤ 262144. A standby gateway forwards the request to the active TSO; 503 while the oracle is not ready or the active one cannot be reached.");
        group.MapPost("/ids", AllocateIds)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithName("AllocateIds")
            .WithSummary("A half-open range [begin, end) of new ids that never overlaps one issued before, also across restarts, crashes and failovers. 1 ≤ count ≤ 1000000. A standby gateway forwards the request to the active TSO; 503 while the allocator is not ready or the active one cannot be reached.");
        return app;
    }

    // These two routes are the gateway's hottest, so they run their (synchronous) FluentValidation validator
    // inline rather than through ValidationFilter, whose async endpoint-filter pipeline measurably cut the
    // requests per second (docs/benchmarks.md). The 400 answer is the same validation problem.

    /// <summary>Issues a batch of timestamps from the oracle, or from the active gateway's oracle on a standby.</summary>
    public static async Task<Results<Ok<TimestampResponse>, ValidationProblem>> AllocateTimestamps(
        TimestampRequest request, IValidator<TimestampRequest> validator, TimestampOracle oracle, ITsoRole tso, ActiveTsoClient active,
        HttpRequest http, CancellationToken cancellationToken)
    {
        if (Invalid(validator, request) is { } problem)
        {
            return problem;
        }
        if (!tso.Serves)
        {
            return TypedResults.Ok(await active.AllocateTimestampsAsync(request, http, cancellationToken));
        }
        var first = await oracle.GenerateTsoAsync((uint)request.Count, cancellationToken);
        TsoTelemetry.IssuedTimestamps(request.Count);
        return TypedResults.Ok(new TimestampResponse(first.Value, request.Count, first.PhysicalMs, first.Logical));
    }

    /// <summary>Issues a range of ids from the global allocator, or from the active gateway's on a standby.</summary>
    public static async Task<Results<Ok<IdResponse>, ValidationProblem>> AllocateIds(
        IdRequest request, IValidator<IdRequest> validator, GlobalIdAllocator ids, ITsoRole tso, ActiveTsoClient active,
        HttpRequest http, CancellationToken cancellationToken)
    {
        if (Invalid(validator, request) is { } problem)
        {
            return problem;
        }
        if (!tso.Serves)
        {
            return TypedResults.Ok(await active.AllocateIdsAsync(request, http, cancellationToken));
        }
        var range = await ids.AllocAsync((uint)request.Count, cancellationToken);
        TsoTelemetry.IssuedIds(request.Count);
        return TypedResults.Ok(new IdResponse(range.Begin, range.End));
    }

    private static ValidationProblem? Invalid<T>(IValidator<T> validator, T request)
    {
        var result = validator.Validate(request);
        return result.IsValid ? null : TypedResults.ValidationProblem(result.ToDictionary(), title: "One or more fields are invalid.");
    }
}

/// <summary>1 ≤ count ≤ 262144.</summary>
internal sealed class TimestampRequestValidator : AbstractValidator<TimestampRequest>
{
    public TimestampRequestValidator() =>
        RuleFor(r => r.Count).InclusiveBetween(1, HybridTimestamp.LogicalRange).OverridePropertyName("count");
}

/// <summary>1 ≤ count ≤ 1000000.</summary>
internal sealed class IdRequestValidator : AbstractValidator<IdRequest>
{
    public IdRequestValidator() =>
        RuleFor(r => r.Count).InclusiveBetween(1, GlobalIdAllocator.MaxCount).OverridePropertyName("count");
}
