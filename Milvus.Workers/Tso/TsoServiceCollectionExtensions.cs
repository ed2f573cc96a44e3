using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.Tso;
using Milvus.Workers.Hosting;

namespace Milvus.Workers.Tso;

/// <summary>The timestamp oracle and the global id allocator, and the allocators every other subsystem uses.</summary>
public static class TsoServiceCollectionExtensions
{
    /// <summary>
    /// Registers the settings (<c>Milvus:Tso</c>), the oracle and the id allocator with their component (role
    /// <c>tso</c>), updater and readiness check, the role (<see cref="ITsoRole"/>) that says whether this gateway
    /// serves them, and the gateway's own <see cref="ITimestampAllocator"/> and <see cref="IIdAllocator"/>: the
    /// local oracle on the active gateway, the active one's routes (batched) on a standby. Their saved state lives in
    /// the meta store; the role is elected through the gateway's sessions.
    /// </summary>
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
        services.AddSingleton<ActiveTsoSource>();
        services.AddSingleton<ClusterTimestampAllocator>();
        services.AddSingleton<ITimestampAllocator>(sp => sp.GetRequiredService<ClusterTimestampAllocator>());
        services.AddSingleton<ClusterIdAllocator>();
        services.AddSingleton<IIdAllocator>(sp => sp.GetRequiredService<ClusterIdAllocator>());
        services.AddSingleton<IComponent>(sp => sp.GetRequiredService<TsoComponent>());
        services.AddSingleton<ITsoRole>(sp => sp.GetRequiredService<TsoComponent>());
        services.AddHostedService<TsoUpdateService>();
        services.AddHealthChecks().AddCheck<TsoHealthCheck>(TsoComponent.RoleName, tags: [HealthTags.Ready]);
        return services;
    }
}
