using Milvus.Domain.Sessions;

namespace Milvus.Api.Hosting;

/// <summary>The address other gateways reach this one at, when <c>Milvus:Session:Address</c> leaves it empty.</summary>
public static class SessionAddress
{
    /// <summary>Fills <see cref="ServiceSessionOptions.Address"/> with the first URL the gateway listens on.</summary>
    public static IServiceCollection AddListeningAddressAsSessionAddress(this IServiceCollection services)
    {
        services.AddOptions<ServiceSessionOptions>().PostConfigure<IConfiguration>((options, configuration) =>
        {
            if (string.IsNullOrWhiteSpace(options.Address))
            {
                options.Address = ListeningAddress(configuration[WebHostDefaults.ServerUrlsKey]);
            }
        });
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
