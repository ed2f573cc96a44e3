using Microsoft.Extensions.Options;
using Milvus.Api.Endpoints;
using Milvus.Domain.Allocation;
using Milvus.Domain.Components;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;
using Milvus.Domain.Tso;
using Milvus.Workers.Mq;

namespace Milvus.Api.Hosting;

/// <summary>Registers RocksMQ, the embedded message queue.</summary>
public static class RocksMqServiceCollectionExtensions
{
    /// <summary>
    /// RocksMQ as the <see cref="IMqClient"/>: its options (section <c>Milvus:RocksMq</c>, validated at start), the
    /// database, the component (role <c>rocksmq</c>), the retention worker and a readiness check.
    /// </summary>
    public static IServiceCollection AddMilvusRocksMq(this IServiceCollection services)
    {
        services.AddOptions<RocksMqOptions>()
            .BindConfiguration(RocksMqOptions.SectionName)
            .Validate(o => o.Validate() is null, "Milvus:RocksMq is invalid: PageSize and RetentionIntervalSeconds must be at least 1, MaxWaitMs between 0 and 600000.")
            .ValidateOnStart();
        services.AddSingleton<RocksMqDatabase>();
        services.AddSingleton<RocksMqIdAllocator>();
        services.AddSingleton(sp => new RocksMq(
            sp.GetRequiredService<RocksMqDatabase>(),
            // Ids come from the global allocator when the TSO is registered, else from RocksMQ's own persisted one.
            sp.GetService<GlobalIdAllocator>() ?? (IIdAllocator)sp.GetRequiredService<RocksMqIdAllocator>(),
            sp.GetRequiredService<IOptions<RocksMqOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<RocksMq>>()));
        services.AddSingleton<IMqClient>(sp => sp.GetRequiredService<RocksMq>());
        services.AddSingleton<Domain.MsgStream.Streams.MsgStreamFactory>();
        services.AddSingleton<RocksMqComponent>();
        services.AddSingleton<IComponent>(sp => sp.GetRequiredService<RocksMqComponent>());
        services.AddHostedService<RocksMqRetentionService>();
        services.AddHealthChecks().AddCheck<RocksMqHealthCheck>(RocksMqComponent.ComponentRole, tags: [HealthApi.ReadyTag]);
        return services;
    }
}
