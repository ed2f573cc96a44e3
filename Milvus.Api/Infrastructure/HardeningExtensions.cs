using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;
using Milvus.Workers.Hosting;

namespace Milvus.Api.Infrastructure;

/// <summary>Input hardening that applies to every route, present and future.</summary>
public static class HardeningExtensions
{
    /// <summary>The deepest JSON nesting a request body may have; deeper bodies are a 400 before any handler runs.</summary>
    public const int MaxJsonDepth = 64;

    /// <summary>
    /// Registers the request limits (<c>Milvus:Limits</c>) and makes request JSON strict: a field that the route does not know is a 400 rather than silently dropped (so
    /// a misspelt optional field cannot turn into a different, accepted request), and nesting is capped at
    /// <see cref="MaxJsonDepth"/>.
    /// </summary>
    public static IServiceCollection AddMilvusHardening(this IServiceCollection services)
    {
        services.AddMilvusOptions<LimitsOptions>(LimitsOptions.SectionName, o => o.Validate());
        services.Configure<JsonOptions>(options =>
        {
            options.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            options.SerializerOptions.MaxDepth = MaxJsonDepth;
        });
        return services;
    }
}
