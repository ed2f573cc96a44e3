using Microsoft.Extensions.Options;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.Params;
using Milvus.Domain.Sessions;
using Milvus.Workers.Sessions;

namespace Milvus.Api.Hosting;

/// <summary>Sessions on the meta store: the gateway's own registration, discovery, and the sessions of exclusive roles.</summary>
public static class SessionServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="SessionFactory"/> (TTL from <c>Milvus:Session:TtlSeconds</c>, address from
    /// <c>Milvus:Session:Address</c> or else the first URL the gateway listens on, leases journalled under the data
    /// directory so that a restart revokes its predecessor's), <see cref="ServiceDiscovery"/>, and the gateway's
    /// session component.
    /// </summary>
    public static IServiceCollection AddMilvusSessions(this IServiceCollection services)
    {
        services.AddOptions<ServiceSessionOptions>().Configure<IConfiguration>((options, configuration) =>
        {
            if (string.IsNullOrWhiteSpace(options.Address))
            {
                options.Address = ListeningAddress(configuration[WebHostDefaults.ServerUrlsKey]);
            }
        });
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

    /// <summary>The first of the listening URLs, with a wildcard host replaced by this machine's name.</summary>
    internal static string ListeningAddress(string? urls)
    {
        var first = (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? GatewayDefaults.Url;
        foreach (var wildcard in new[] { "://*", "://+", "://0.0.0.0", "://[::]" })
        {
            first = first.Replace(wildcard, "://" + Environment.MachineName, StringComparison.Ordinal);
        }
        return first.TrimEnd('/');
    }
}
