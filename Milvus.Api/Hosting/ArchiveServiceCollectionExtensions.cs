using Microsoft.Extensions.DependencyInjection.Extensions;
using Milvus.Domain.Archive;
using Milvus.Domain.Channels;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Snapshot;
using Milvus.Domain.MsgStream;
using Milvus.Domain.Params;
using Milvus.Domain.Sessions;
using Milvus.Workers.Archive;
using Milvus.Workers.Jobs;
using Milvus.Workers.Sessions;

namespace Milvus.Api.Hosting;

/// <summary>The archiving flow graphs, the segment catalog behind the segments routes, and the maintenance jobs of issue 8.</summary>
public static class ArchiveServiceCollectionExtensions
{
    /// <summary>
    /// Registers the segment catalog (always: archived segments stay readable when archiving is off), the archive
    /// supervisor with its purger and its hosted worker (idle unless <c>Milvus:Archive:Enabled</c>) and its component (role
    /// <c>archiver</c>), and the recurring jobs for RocksMQ retention and snapshot KV GC, with a snapshot KV over
    /// the meta store when none is registered. It also wraps the channel service, so that destroying channels
    /// deletes their archived segments, and adds the <c>archive-purge</c> job that finishes interrupted purges.
    /// </summary>
    public static IServiceCollection AddMilvusArchive(this IServiceCollection services)
    {
        services.AddMilvusOptions<ArchiveOptions>(ArchiveOptions.SectionName, o => o.Validate());
        services.AddSingleton(sp => new SegmentCatalog(
            sp.GetRequiredService<ITxnKv>(),
            sp.GetRequiredKeyedService<IBaseKv>(KvServiceCollectionExtensions.ObjectStoreKey),
            sp.GetService<UnmarshalDispatcher>()));
        // One gateway of the cluster archives each channel at a time.
        services.AddSingleton(sp => new ArchiveClaims(
            sp.GetRequiredService<IMetaKv>(),
            sp.GetRequiredService<ServiceDiscovery>(),
            sp.GetRequiredService<GatewaySessionComponent>().Session,
            GatewaySessionComponent.ServerName,
            sp.GetRequiredService<ILogger<ArchiveClaims>>()));
        services.TryAddSingleton<GatewayChannelNames>();
        services.AddSingleton<ArchivePurger>();
        services.AddSingleton<ArchiveSupervisor>();
        services.AddSingleton<ArchiveComponent>();
        services.AddSingleton<IComponent>(sp => sp.GetRequiredService<ArchiveComponent>());
        services.AddHostedService<ArchiveService>();

        services.TryAddSingleton(sp => new SnapshotKv(sp.GetRequiredService<ITxnKv>()));
        services.TryAddSingleton<ISnapshotKv>(sp => sp.GetRequiredService<SnapshotKv>());
        services.AddSingleton<IMaintenanceJob, SnapshotKvGcJob>();
        services.AddSingleton<IMaintenanceJob, RocksMqRetentionJob>();
        services.AddSingleton<IMaintenanceJob, ArchivePurgeJob>();

        // Destroying channels also deletes their archived segments, once their graphs are stopped.
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(IChannelService) && d.ImplementationFactory is not null)
            ?? throw new InvalidOperationException("AddMilvusChannels must come before AddMilvusArchive: the archive wraps the channel service.");
        var channels = registered.ImplementationFactory!;
        services.Remove(registered);
        services.AddSingleton<IChannelService>(sp => new ArchivingChannelService((IChannelService)channels(sp), sp.GetRequiredService<ArchiveSupervisor>()));
        return services;
    }
}
