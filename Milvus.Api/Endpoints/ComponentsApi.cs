using Microsoft.AspNetCore.Http.HttpResults;
using Milvus.Domain.Components;

namespace Milvus.Api.Endpoints;

/// <summary>The states of the gateway and its components (seed A.1).</summary>
public static class ComponentsApi
{
    public static IEndpointRouteBuilder MapComponentsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/components").WithTags("Components");
        group.MapGet("/states", GetStates)
            .WithName("GetComponentStates")
            .WithSummary("The gateway's state and the real state of every hosted component.");
        return app;
    }

    /// <summary>The aggregated component states.</summary>
    public static async Task<Ok<ComponentStates>> GetStates(ComponentRegistry registry, CancellationToken cancellationToken) =>
        TypedResults.Ok(await registry.GetStatesAsync(cancellationToken));
}
