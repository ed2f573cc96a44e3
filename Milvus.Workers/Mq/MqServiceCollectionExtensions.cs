using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.Nats;
using Milvus.Domain.Mq.Redis;
using Milvus.Domain.Mq.RocksMq;
using Milvus.Domain.MsgStream.Streams;
using Milvus.Domain.Telemetry;
using Milvus.Domain.Tso;
using Milvus.Workers.Hosting;

namespace Milvus.Workers.Mq;

/// <summary>Registers the message queue that <c>Milvus:Mq:Backend</c> selects: RocksMQ (embedded), Redis Streams or NATS JetStream.</summary>
public static class MqServiceCollectionExtensions
{
    /// <summary>
    /// Registers every backend's services, which are built only when used, and the selected one, with its
    /// instruments, as the <see cref="IMqClient"/>, with the MQ component, its retention worker and its readiness
    /// check. The choice is made when the host builds them, from the validated <see cref="MqOptions"/>. On Redis and NATS
    /// the retention worker runs on the gateway that serves the TSO role, once for the cluster.
    /// </summary>
    public static IServiceCollection AddMilvusMq(this IServiceCollection services)
    {
        services.AddMilvusOptions<MqOptions>(MqOptions.SectionName, o => o.Validate());
        // Consume's longest wait (Milvus:RocksMq:MaxWaitMs) bounds the long poll of every backend.
        services.AddMilvusOptions<RocksMqOptions>(RocksMqOptions.SectionName, o => o.Validate());
        services.AddRocksMqServices();
        services.AddRedisMqServices();
        services.AddNatsMqServices();
        services.AddSingleton<IMqClient>(sp => new InstrumentedMqClient(Select<IMqClient>(
            sp,
            s =>
            {
                // Created with the queue and disposed with the container, which owns both.
                s.GetRequiredService<RocksMqDiskGauge>();
                return s.GetRequiredService<RocksMq>();
            },
            s => s.GetRequiredService<RedisMqClient>(),
            s => s.GetRequiredService<NatsMqClient>())));
        // Message streams run over whichever queue is selected.
        services.AddSingleton<MsgStreamFactory>();
        services.AddSingleton(sp => Select<IComponent>(sp, s => s.GetRequiredService<RocksMqComponent>(), s => s.GetRequiredService<RedisMqComponent>(), s => s.GetRequiredService<NatsMqComponent>()));
        services.AddSingleton(sp => Select<IHostedService>(sp, s => ActivatorUtilities.CreateInstance<RocksMqRetentionService>(s), _ => new IdleHostedService(), _ => new IdleHostedService()));
        services.AddSingleton(sp => Select<IHostedService>(sp, _ => new IdleHostedService(), s => ActivatorUtilities.CreateInstance<RedisMqRetentionService>(s), _ => new IdleHostedService()));
        services.AddSingleton(sp => Select<IHostedService>(sp, _ => new IdleHostedService(), _ => new IdleHostedService(), s => ActivatorUtilities.CreateInstance<NatsMqRetentionService>(s)));
        services.AddSingleton<IConfigureOptions<HealthCheckServiceOptions>>(sp => new ConfigureOptions<HealthCheckServiceOptions>(health =>
            health.Registrations.Add(Select(
                sp,
                _ => new HealthCheckRegistration(RocksMqComponent.ComponentRole, s => ActivatorUtilities.CreateInstance<RocksMqHealthCheck>(s), HealthStatus.Unhealthy, [HealthTags.Ready]),
                _ => new HealthCheckRegistration(RedisMqComponent.ComponentRole, s => ActivatorUtilities.CreateInstance<RedisMqHealthCheck>(s), HealthStatus.Unhealthy, [HealthTags.Ready], TimeSpan.FromSeconds(10)),
                _ => new HealthCheckRegistration(NatsMqComponent.ComponentRole, s => ActivatorUtilities.CreateInstance<NatsMqHealthCheck>(s), HealthStatus.Unhealthy, [HealthTags.Ready], TimeSpan.FromSeconds(10))))));
        return services;
    }

    /// <summary>RocksMQ's services: the database, the queue (role <c>rocksmq</c> component), its id allocator and its disk gauge.</summary>
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
        services.AddSingleton(sp => new RocksMqDiskGauge(new RocksMqDiskTelemetry(() => sp.GetRequiredService<RocksMqDatabase>().Path)));
    }

    /// <summary>
    /// The Redis Streams queue on the Redis of <c>Milvus:Redis:Configuration</c>, with its keys under
    /// <c>Milvus:Etcd:RootPath</c>, and its component (role <c>redismq</c>), whose Init connects. A Redis that is down
    /// does not stop the start: calls answer 503 and readiness names it until it returns.
    /// </summary>
    private static void AddRedisMqServices(this IServiceCollection services)
    {
        services.AddMilvusOptions<RedisMqOptions>(RedisMqOptions.SectionName, o => o.Validate());
        services.AddSingleton(sp => new RedisMqClient(
            sp.GetRequiredService<IOptions<RedisOptions>>().Value.Configuration,
            sp.GetRequiredService<IOptions<EtcdOptions>>().Value.RootPath,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<RedisMqClient>>(),
            sp.GetRequiredService<IOptions<RedisMqOptions>>().Value.DurabilityMode ?? RedisDurability.EverySecond,
            sp.GetRequiredService<IOptions<RedisMqOptions>>().Value.Replicas));
        services.AddSingleton<RedisMqComponent>();
    }

    /// <summary>
    /// The NATS JetStream queue on the NATS of <c>Milvus:Nats:Url</c>, with its streams named by
    /// <c>Milvus:Nats:StreamPrefix</c>, and its component (role <c>natsmq</c>), whose Init connects. A NATS that is down
    /// does not stop the start: calls answer 503 and readiness names it until it returns.
    /// </summary>
    private static void AddNatsMqServices(this IServiceCollection services)
    {
        services.AddMilvusOptions<NatsMqOptions>(NatsMqOptions.SectionName, o => o.Validate());
        services.AddSingleton(sp => new NatsMqClient(
            sp.GetRequiredService<IOptions<NatsMqOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<NatsMqClient>>()));
        services.AddSingleton<NatsMqComponent>();
    }

    /// <summary>The one place that maps the configured backend to its services.</summary>
    private static T Select<T>(IServiceProvider services, Func<IServiceProvider, T> rocksMq, Func<IServiceProvider, T> redis, Func<IServiceProvider, T> nats) =>
        services.GetRequiredService<IOptions<MqOptions>>().Value.Backend switch
        {
            MqBackend.RocksMq => rocksMq(services),
            MqBackend.Redis => redis(services),
            MqBackend.Nats => nats(services),
            var other => throw new InvalidOperationException($"{MqOptions.SectionName}:{nameof(MqOptions.Backend)} has the unknown value '{other}'; use rocksmq, redis or nats."),
        };

    /// <summary>Holds the RocksMQ disk gauge's registration for the container's lifetime.</summary>
    private sealed class RocksMqDiskGauge(RocksMqDiskTelemetry telemetry) : IDisposable
    {
        public void Dispose() => telemetry.Dispose();
    }
}
