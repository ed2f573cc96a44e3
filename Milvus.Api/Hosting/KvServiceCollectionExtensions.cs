using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Milvus.Api.Endpoints;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.Params;
using Milvus.Workers.Kv;

namespace Milvus.Api.Hosting;

/// <summary>The meta store and the object store, chosen by configuration, with their readiness checks.</summary>
public static class KvServiceCollectionExtensions
{
    /// <summary>The DI key of the object store (an <see cref="IBaseKv"/>).</summary>
    public const string ObjectStoreKey = "objects";

    /// <summary>
    /// Registers <see cref="KvStores"/> (opened once, at first use), the meta store as <see cref="IMetaKv"/> and
    /// <see cref="ITxnKv"/>, the object store as the keyed <see cref="IBaseKv"/> <c>objects</c> with its component
    /// (role <c>object-store</c>, which makes the bucket at start), and a readiness check for each.
    /// </summary>
    public static IServiceCollection AddMilvusKv(this IServiceCollection services)
    {
        services.AddSingleton(sp => KvStores.OpenAsync(
                sp.GetRequiredService<IOptions<MilvusOptions>>().Value.DataDirFullPath,
                sp.GetRequiredService<IOptions<KvOptions>>().Value,
                sp.GetRequiredService<IOptions<ObjectStorageOptions>>().Value,
                sp.GetRequiredService<IOptions<EtcdOptions>>().Value,
                sp.GetRequiredService<IOptions<RedisOptions>>().Value,
                sp.GetRequiredService<IOptions<MinioOptions>>().Value,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>())
            // Opening an embedded store reads local disk once, at start-up; DI factories are synchronous.
            .GetAwaiter().GetResult());
        services.AddSingleton<IMetaKv>(sp => sp.GetRequiredService<KvStores>().Meta);
        services.AddSingleton<ITxnKv>(sp => sp.GetRequiredService<KvStores>().Meta);
        services.AddKeyedSingleton<IBaseKv>(ObjectStoreKey, (sp, _) => sp.GetRequiredService<KvStores>().Objects);
        services.AddSingleton<ObjectStoreComponent>();
        services.AddSingleton<IComponent>(sp => sp.GetRequiredService<ObjectStoreComponent>());
        services.AddHealthChecks()
            .Add(new HealthCheckRegistration("meta-kv", sp => new StoreHealthCheck(sp.GetRequiredService<KvStores>(), meta: true), HealthStatus.Unhealthy, [HealthApi.ReadyTag], TimeSpan.FromSeconds(10)))
            .Add(new HealthCheckRegistration("object-store", sp => new StoreHealthCheck(sp.GetRequiredService<KvStores>(), meta: false), HealthStatus.Unhealthy, [HealthApi.ReadyTag], TimeSpan.FromSeconds(10)));
        return services;
    }

    private sealed class StoreHealthCheck(KvStores stores, bool meta) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var backend = meta ? stores.MetaBackend : stores.ObjectBackend;
            try
            {
                if (meta)
                {
                    await stores.PingMetaAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await stores.PingObjectsAsync(cancellationToken).ConfigureAwait(false);
                }
                return HealthCheckResult.Healthy($"{backend} answers.");
            }
            catch (KvUnavailableException ex)
            {
                return HealthCheckResult.Unhealthy($"{backend}: {ex.Message}", ex);
            }
        }
    }
}
