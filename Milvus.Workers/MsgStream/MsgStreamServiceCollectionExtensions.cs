using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Gateway;
using Milvus.Workers.Hosting;
using Milvus.Workers.Jobs;
using Milvus.Workers.Sessions;
using Milvus.Workers.Statistics;
using Milvus.Workers.TimeTick;

namespace Milvus.Workers.MsgStream;

/// <summary>Registers the message-stream level over the registered message queue and TSO.</summary>
public static class MsgStreamServiceCollectionExtensions
{
    /// <summary>
    /// The gateway's produce path (<see cref="GatewayProducer"/> with its in-flight timestamps), the server-side
    /// subscriptions (section <c>Milvus:MsgStream</c>) with their owners, expiry job and shutdown, the time tick
    /// component (role <c>timetick</c>, section <c>Milvus:TimeTick</c>) with its workers, and the statistics publisher
    /// (section <c>Milvus:Statistics</c>).
    /// </summary>
    public static IServiceCollection AddMilvusMsgStream(this IServiceCollection services)
    {
        services.AddMilvusOptions<StreamSubscriptionOptions>(StreamSubscriptionOptions.SectionName, o => o.Validate());
        services.AddMilvusOptions<TimeTickOptions>(TimeTickOptions.SectionName, o => o.Validate());
        services.AddMilvusOptions<StatisticsOptions>(StatisticsOptions.SectionName, o => o.Validate());
        services.TryAddSingleton<UnmarshalDispatcher>();
        services.AddSingleton<InFlightTimestamps>();
        services.AddSingleton<TickedChannels>();
        services.AddSingleton<GatewayProducer>();
        services.AddSingleton<StreamSubscriptions>();
        // A subscription is held by one gateway of the cluster; calls on the others are served through it.
        services.AddSingleton(sp => new SubscriptionOwners(
            sp.GetRequiredService<IMetaKv>(),
            sp.GetRequiredService<GatewaySessionComponent>().Session,
            sp.GetRequiredService<StreamSubscriptions>(),
            sp.GetRequiredService<ILogger<SubscriptionOwners>>()));
        services.AddSingleton<IMaintenanceJob, SubscriptionExpiryJob>();
        services.AddSingleton<TimeTickCluster>();
        services.AddSingleton<TimeTickComponent>();
        services.AddSingleton<IComponent>(sp => sp.GetRequiredService<TimeTickComponent>());
        services.AddHostedService<TimeTickService>();
        services.AddHostedService<TimeTickReportService>();
        services.AddHostedService<SubscriptionShutdownService>();
        services.AddHostedService<StatisticsService>();
        return services;
    }
}
