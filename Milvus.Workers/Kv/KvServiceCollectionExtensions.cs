using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.Params;
using Milvus.Workers.Hosting;

namespace Milvus.Workers.Kv;

/// <summary>The meta store and the object store, chosen by configuration, with their components and readiness checks.</summary>
public static class KvServiceCollectionExtensions
{
    /// <summary>The DI key of the object store (an <see cref="IBaseKv"/>).</summary>
    public const string ObjectStoreKey = "objects";

    /// <summary>
    /// Registers the store settings (<c>Milvus:Kv</c>, <c>Milvus:ObjectStorage</c> and the connections
    /// <c>Milvus:Etcd</c>, <c>Milvus:Redis</c>, <c>Milvus:Minio</c>), <see cref="KvStores"/>, the meta store as
    /// <see cref="IMetaKv"/> and <see cref="ITxnKv"/> and the object store as the keyed <see cref="IBaseKv"/>
    /// <c>objects</c>, each with its KV instruments, the components that open them (role <c>meta-kv</c>, first to
    /// start) and make the bucket (role <c>object-store</c>), and a readiness check for each.
    /// </summary>
    public static IServiceCollection AddMilvusKv(this IServiceCollection services)
    {
        services.AddMilvusOptions<KvOptions>(KvOptions.SectionName, o => o.Validate());
        services.AddMilvusOptions<ObjectStorageOptions>(ObjectStorageOptions.SectionName, o => o.Validate());
        services.AddMilvusOptions<EtcdOptions>(EtcdOptions.SectionName, o => o.Validate());
        services.AddMilvusOptions<RedisOptions>(RedisOptions.SectionName, o => o.Validate());
        services.AddMilvusOptions<MinioOptions>(MinioOptions.SectionName, o => o.Validate());
        // Made here, opened by the meta-kv component's Init.
        services.AddSingleton(sp => new KvStores(
            sp.GetRequiredService<IOptions<MilvusOptions>>().Value.DataDirFullPath,
            sp.GetRequiredService<IOptions<KvOptions>>().Value,
            sp.GetRequiredService<IOptions<ObjectStorageOptions>>().Value,
            sp.GetRequiredService<IOptions<EtcdOptions>>().Value,
            sp.GetRequiredService<IOptions<RedisOptions>>().Value,
            sp.GetRequiredService<IOptions<MinioOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));
        // The instruments ask the stores for the open store on every call.
        services.AddSingleton(sp =>
        {
            var stores = sp.GetRequiredService<KvStores>();
            return new InstrumentedMetaKv(() => stores.Meta, "meta", stores.MetaBackend, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<IMetaKv>(sp => sp.GetRequiredService<InstrumentedMetaKv>());
        services.AddSingleton<ITxnKv>(sp => sp.GetRequiredService<InstrumentedMetaKv>());
        services.AddKeyedSingleton<IBaseKv>(ObjectStoreKey, (sp, _) =>
        {
            var stores = sp.GetRequiredService<KvStores>();
            return new InstrumentedKv(() => stores.Objects, "objects", stores.ObjectBackend, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<MetaStoreComponent>();
        services.AddSingleton<IComponent>(sp => sp.GetRequiredService<MetaStoreComponent>());
        services.AddSingleton<ObjectStoreComponent>();
        services.AddSingleton<IComponent>(sp => sp.GetRequiredService<ObjectStoreComponent>());
        services.AddHealthChecks()
            .Add(new HealthCheckRegistration("meta-kv", sp => new StoreHealthCheck(sp.GetRequiredService<KvStores>(), meta: true), HealthStatus.Unhealthy, [HealthTags.Ready], TimeSpan.FromSeconds(10)))
            .Add(new HealthCheckRegistration("object-store", sp => new StoreHealthCheck(sp.GetRequiredService<KvStores>(), meta: false), HealthStatus.Unhealthy, [HealthTags.Ready], TimeSpan.FromSeconds(10)));
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
