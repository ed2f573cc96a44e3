namespace Milvus.Api.Infrastructure;

/// <summary>The HTTP clients with which a gateway serves a call through another gateway of the cluster.</summary>
public static class ForwardingExtensions
{
    /// <summary>
    /// Registers <see cref="ActiveTsoClient"/> (a standby's <c>/tso</c> and <c>/ids</c>, answered by the active TSO)
    /// and <see cref="SubscriptionForwarder"/> (a subscription's calls, served by the gateway that holds it).
    /// </summary>
    public static IServiceCollection AddMilvusForwarding(this IServiceCollection services)
    {
        services.AddHttpClient<ActiveTsoClient>(client => client.Timeout = ActiveTsoClient.Timeout);
        services.AddHttpClient<SubscriptionForwarder>(client => client.Timeout = Timeout.InfiniteTimeSpan);
        return services;
    }
}
