using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Milvus.Domain.Components;
using Milvus.Domain.Params;
using Milvus.Workers.Archive;
using Milvus.Workers.Channels;
using Milvus.Workers.Kv;
using Milvus.Workers.Mq;
using Milvus.Workers.MsgStream;
using Milvus.Workers.Params;
using Milvus.Workers.Sessions;
using Milvus.Workers.Tso;

namespace Milvus.Workers.Hosting;

/// <summary>Everything the gateway runs, composed: each subsystem registers itself, in start order.</summary>
public static class WorkersServiceCollectionExtensions
{
    /// <summary>
    /// Registers the general settings (<c>Milvus</c>, <c>Milvus:Auth</c>), the clock, the component registry and
    /// the host of their life cycle, the data directory's readiness check, and then each subsystem. Components init,
    /// start and register in the order they are registered here: the stores first, then the run-time parameters,
    /// the session, the TSO, the queue, the message streams and the archive. The host adds the
    /// <see cref="BaseTable"/>, and HTTP on top.
    /// </summary>
    public static IServiceCollection AddMilvusWorkers(this IServiceCollection services)
    {
        services.AddMilvusOptions<MilvusOptions>(MilvusOptions.SectionName, o => o.Validate());
        // The API keys: the HTTP host checks them, and a gateway forwards with one to another.
        services.AddMilvusOptions<AuthOptions>(AuthOptions.SectionName, o => o.Validate());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new ComponentRegistry(sp.GetServices<IComponent>(), sp.GetRequiredService<IOptions<StatisticsOptions>>().Value.Channel));
        services.AddHostedService<ComponentLifecycleService>();
        services.AddHealthChecks().AddCheck<DataDirHealthCheck>("data-dir", tags: [HealthTags.Ready]);

        services.AddMilvusKv();
        services.AddMilvusParams();
        services.AddMilvusSessions();
        services.AddMilvusTso();
        services.AddMilvusMq();
        services.AddMilvusChannels();
        services.AddMilvusMsgStream();
        services.AddMilvusArchive();
        return services;
    }
}
