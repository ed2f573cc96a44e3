using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.Params;
using Milvus.Domain.Sessions;
using Milvus.Workers.Hosting;

namespace Milvus.Workers.Sessions;

/// <summary>Sessions on the meta store: the gateway's own registration, discovery, and the sessions of exclusive roles.</summary>
public static class SessionServiceCollectionExtensions
{
    /// <summary>
    /// Registers the settings (<c>Milvus:Session</c>), the <see cref="SessionFactory"/> (leases journalled under the
    /// data directory, so that a restart revokes its predecessor's), <see cref="ServiceDiscovery"/>, and the gateway's
    /// session component. The host that serves the gateway fills <see cref="ServiceSessionOptions.Address"/> when
    /// the setting leaves it empty.
    /// </summary>
    public static IServiceCollection AddMilvusSessions(this IServiceCollection services)
    {
        services.AddMilvusOptions<ServiceSessionOptions>(ServiceSessionOptions.SectionName, o => o.Validate());
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ServiceSessionOptions>>().Value;
            var journal = new LeaseJournal(Path.Combine(sp.GetRequiredService<IOptions<MilvusOptions>>().Value.DataDirFullPath, "session", "leases"));
            return new SessionFactory(sp.GetRequiredService<IMetaKv>(), options.TtlSeconds, options.Address!,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>(), journal);
        });
        services.AddSingleton(sp => new ServiceDiscovery(sp.GetRequiredService<IMetaKv>(), sp.GetRequiredService<ILogger<ServiceDiscovery>>()));
        services.AddSingleton<GatewaySessionComponent>();
        services.AddSingleton<IComponent>(sp => sp.GetRequiredService<GatewaySessionComponent>());
        return services;
    }
}
