using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Archive;
using Milvus.Domain.Channels;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Snapshot;
using Milvus.Domain.MsgStream;
using Milvus.Domain.Sessions;
using Milvus.Workers.Hosting;
using Milvus.Workers.Jobs;
using Milvus.Workers.Kv;
using Milvus.Workers.Sessions;

namespace Milvus.Workers.Archive;

/// <summary>The archiving flow graphs, the segment catalog behind the segments routes, and the maintenance jobs.</summary>
public static class ArchiveServiceCollectionExtensions
{
    /// <summary>
    /// Registers the settings (<c>Milvus:Archive</c>), the segment catalog (always: archived segments stay readable
    /// when archiving is off), the archive supervisor with its purger, its hosted worker (idle unless
    /// <c>Milvus:Archive:Enabled</c>) and its component (role <c>archiver</c>), the <c>archive-purge</c> job that
    /// finishes interrupted purges, and the snapshot KV over the meta store (when none is registered) with its
    /// <c>snapshotkv-gc</c> job.
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
        services.AddSingleton<IMaintenanceJob, ArchivePurgeJob>();
        return services;
    }
}
