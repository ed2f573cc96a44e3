using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Milvus.Api.Endpoints;
using Milvus.Domain.Components;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Redis;
using Milvus.Domain.Mq.RocksMq;
using Milvus.Domain.Params;
using Milvus.Domain.Tso;
using Milvus.Workers.Hosting;
using Milvus.Workers.Mq;
using Milvus.Domain.Kv;

namespace Milvus.Api.Hosting;

/// <summary>Registers the message queue that <c>Milvus:Mq:Backend</c> selects: RocksMQ (embedded) or Redis Streams.</summary>
public static class MqServiceCollectionExtensions
{
    /// <summary>
    /// Registers both backends' services, which are built only when used, and the selected one as the
    /// <see cref="IMqClient"/>, the MQ component, its worker and its readiness check. The choice is made when the
    /// host builds them, from the validated <see cref="MqOptions"/>: an unknown value stops the start with an
    /// error that names the key and the value. Each queue has a retention worker; on Redis it runs on the gateway that serves the TSO role, once for the cluster.
    /// </summary>
    public static IServiceCollection AddMilvusMq(this IServiceCollection services)
    {
        // Consume's longest wait (Milvus:RocksMq:MaxWaitMs) bounds the long poll of every backend.
        services.AddMilvusOptions<RocksMqOptions>(RocksMqOptions.SectionName, o => o.Validate());
        services.AddRocksMqServices();
        services.AddRedisMqServices();
        services.AddSingleton(sp => Select<IMqClient>(sp, s => s.GetRequiredService<RocksMq>(), s => s.GetRequiredService<RedisMqClient>()));
        // Message streams run over whichever queue is selected.
        services.AddSingleton<Domain.MsgStream.Streams.MsgStreamFactory>();
        services.AddSingleton(sp => Select<IComponent>(sp, s => s.GetRequiredService<RocksMqComponent>(), s => s.GetRequiredService<RedisMqComponent>()));
        services.AddSingleton(sp => Select<IHostedService>(sp, s => ActivatorUtilities.CreateInstance<RocksMqRetentionService>(s), _ => new IdleHostedService()));
        services.AddSingleton(sp => Select<IHostedService>(sp, _ => new IdleHostedService(), s => ActivatorUtilities.CreateInstance<RedisMqRetentionService>(s)));
        services.AddSingleton<IConfigureOptions<HealthCheckServiceOptions>>(sp => new ConfigureOptions<HealthCheckServiceOptions>(health =>
            health.Registrations.Add(Select(
                sp,
                _ => new HealthCheckRegistration(RocksMqComponent.ComponentRole, s => ActivatorUtilities.CreateInstance<RocksMqHealthCheck>(s), HealthStatus.Unhealthy, [HealthApi.ReadyTag]),
                _ => new HealthCheckRegistration(RedisMqComponent.ComponentRole, s => ActivatorUtilities.CreateInstance<RedisMqHealthCheck>(s), HealthStatus.Unhealthy, [HealthApi.ReadyTag], TimeSpan.FromSeconds(10))))));
        return services;
    }

    /// <summary>RocksMQ's services: the database, the queue (role <c>rocksmq</c> component) and its id allocator.</summary>
    private static void AddRocksMqServices(this IServiceCollection services)
    {
        services.AddSingleton<RocksMqDatabase>();
        services.AddSingleton<RocksMqIdAllocator>();
        services.AddSingleton(sp => new RocksMq(
            sp.GetRequiredService<RocksMqDatabase>(),
            // Ids come from the gateway's allocator when the TSO is registered, else from RocksMQ's own persisted one.
            sp.GetService<IIdAllocator>() ?? sp.GetRequiredService<RocksMqIdAllocator>(),
            sp.GetRequiredService<IOptions<RocksMqOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<RocksMq>>()));
        services.AddSingleton<RocksMqComponent>();
    }

    /// <summary>
    /// The Redis Streams queue on the Redis of <c>Milvus:Redis:Configuration</c>, with its keys under
    /// <c>Milvus:Etcd:RootPath</c>, and its component (role <c>redismq</c>). A Redis that is down does not stop
    /// the start: calls answer 503 and readiness names it until it returns.
    /// </summary>
    private static void AddRedisMqServices(this IServiceCollection services)
    {
        services.AddMilvusOptions<RedisMqOptions>(RedisMqOptions.SectionName, o => o.Validate());
        services.AddSingleton(sp => RedisMqClient.ConnectAsync(
                sp.GetRequiredService<IOptions<RedisOptions>>().Value.Configuration,
                sp.GetRequiredService<IOptions<EtcdOptions>>().Value.RootPath,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<RedisMqClient>>())
            // DI factories are synchronous; the connect does not wait for a Redis that is down.
            .GetAwaiter().GetResult());
        services.AddSingleton<RedisMqComponent>();
    }

    /// <summary>The one place that maps the configured backend to its services.</summary>
    private static T Select<T>(IServiceProvider services, Func<IServiceProvider, T> rocksMq, Func<IServiceProvider, T> redis) =>
        services.GetRequiredService<IOptions<MqOptions>>().Value.Backend switch
        {
            MqBackend.RocksMq => rocksMq(services),
            MqBackend.Redis => redis(services),
            var other => throw new InvalidOperationException($"{MqOptions.SectionName}:{nameof(MqOptions.Backend)} has the unknown value '{other}'; use rocksmq or redis."),
        };
}
