using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Milvus.Api.Endpoints;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Memory;
using Milvus.Domain.Tso;
using Milvus.Workers.Tso;

namespace Milvus.Api.Hosting;

/// <summary>Registers the timestamp oracle, the global id allocator, their component, updater and readiness check.</summary>
public static class TsoServiceCollectionExtensions
{
    public static IServiceCollection AddMilvusTso(this IServiceCollection services)
    {
        services.AddOptions<TsoOptions>()
            .BindConfiguration(TsoOptions.SectionName)
            .Validate(o => o.Validate() is null, "Milvus:Tso is invalid: UpdateIntervalMs 1-10000, SaveIntervalMs at least 3 update intervals, MaxResetGapSeconds > 0, MaxOverflowWaits 1-1000.")
            .ValidateOnStart();
        services.TryAddSingleton<ITxnKv>(new MemoryKv()); // TEMP until the KV factory lands
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new TimestampOracle(
            sp.GetRequiredService<ITxnKv>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<TsoOptions>>().Value,
            sp.GetRequiredService<ILogger<TimestampOracle>>()));
        services.AddSingleton(sp => new GlobalIdAllocator(
            sp.GetRequiredService<ITxnKv>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<TsoOptions>>().Value,
            sp.GetRequiredService<ILogger<GlobalIdAllocator>>()));
        services.AddSingleton<TsoComponent>();
        services.AddSingleton<IComponent>(sp => sp.GetRequiredService<TsoComponent>());
        services.AddHostedService<TsoUpdateService>();
        services.AddHealthChecks().AddCheck<TsoHealthCheck>(TsoComponent.RoleName, tags: [HealthApi.ReadyTag]);
        return services;
    }
}
