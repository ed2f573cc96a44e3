using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Milvus.Api.Endpoints;
using Milvus.Api.Infrastructure;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.Tso;
using Milvus.Workers.Tso;

namespace Milvus.Api.Hosting;

/// <summary>
/// Registers the timestamp oracle, the global id allocator, their component, updater and readiness check, the
/// client that forwards <c>/tso</c> and <c>/ids</c> to the active TSO from a standby, and the gateway's own
/// <see cref="ITimestampAllocator"/> and <see cref="IIdAllocator"/>, which every other subsystem allocates through. Their saved state lives in the meta store, the
/// <see cref="ITxnKv"/> that <c>AddMilvusKv</c> registers; the role is elected through the sessions of
/// <c>AddMilvusSessions</c> when they are registered.
/// </summary>
public static class TsoServiceCollectionExtensions
{
    public static IServiceCollection AddMilvusTso(this IServiceCollection services)
    {
        services.AddMilvusOptions<TsoOptions>(TsoOptions.SectionName, o => o.Validate());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new TimestampOracle(
            sp.GetRequiredService<ITxnKv>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<TsoOptions>>().Value,
            sp.GetRequiredService<ILogger<TimestampOracle>>()));
        services.AddSingleton(sp => new GlobalIdAllocator(
            sp.GetRequiredService<ITxnKv>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<TsoOptions>>().Value,
            sp.GetRequiredService<ILogger<GlobalIdAllocator>>()));
        services.AddSingleton<TsoComponent>();
        services.AddHttpClient<ActiveTsoClient>(client => client.Timeout = ActiveTsoClient.Timeout);
        // Everything inside the gateway allocates through these: the local oracle on the active gateway, the active
        // one's routes (batched) on a standby.
        services.AddSingleton<ActiveTsoSource>();
        services.AddSingleton<ClusterTimestampAllocator>();
        services.AddSingleton<ITimestampAllocator>(sp => sp.GetRequiredService<ClusterTimestampAllocator>());
        services.AddSingleton<ClusterIdAllocator>();
        services.AddSingleton<IIdAllocator>(sp => sp.GetRequiredService<ClusterIdAllocator>());
        services.AddSingleton<IComponent>(sp => sp.GetRequiredService<TsoComponent>());
        services.AddSingleton<ITsoRole>(sp => sp.GetRequiredService<TsoComponent>());
        services.AddHostedService<TsoUpdateService>();
        services.AddHealthChecks().AddCheck<TsoHealthCheck>(TsoComponent.RoleName, tags: [HealthApi.ReadyTag]);
        return services;
    }
}
