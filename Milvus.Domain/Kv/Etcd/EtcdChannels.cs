using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Milvus.Domain.Kv.Etcd;

/// <summary>
/// Builds the gRPC channel to etcd. Unlike dotnet-etcd's own factory, it has no retry policy: a call to an etcd
/// that is down fails at once with Unavailable, and the caller (or its deadline) decides what to do.
/// </summary>
internal static class EtcdChannels
{
    /// <summary>A channel to the comma-separated <paramref name="endpoints"/>, round-robin when there are several.</summary>
    public static GrpcChannel Create(string endpoints, TimeSpan connectTimeout)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var uris = endpoints.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(ToUri).ToArray();
        if (uris.Length == 0)
        {
            throw new ArgumentException("No etcd endpoint is given.", nameof(endpoints));
        }
        var options = new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = connectTimeout,
                // A connection that went silent is found within ~15 s, which ends watches and keep-alives on it.
                KeepAlivePingDelay = TimeSpan.FromSeconds(10),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
                EnableMultipleHttp2Connections = true,
            },
            DisposeHttpClient = true,
            ThrowOperationCanceledOnCancellation = true,
            // After an outage the channel reconnects within a few seconds of etcd's return, not minutes.
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(250),
            MaxReconnectBackoff = TimeSpan.FromSeconds(3),
            // A large prefix load may exceed gRPC's 4 MiB default; etcd bounds requests, not responses.
            MaxReceiveMessageSize = null,
        };
        if (uris.Length == 1)
        {
            return GrpcChannel.ForAddress(uris[0], options);
        }
        options.Credentials = uris[0].Scheme == Uri.UriSchemeHttps ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure;
        options.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } };
        var services = new ServiceCollection();
        services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => uris.Select(u => new BalancerAddress(u.Host, u.Port))));
        options.ServiceProvider = services.BuildServiceProvider();
        return GrpcChannel.ForAddress("static:///etcd", options);
    }

    private static Uri ToUri(string endpoint) =>
        Uri.TryCreate(endpoint.Contains("://", StringComparison.Ordinal) ? endpoint : "http://" + endpoint, UriKind.Absolute, out var uri)
            ? uri
            : throw new ArgumentException($"'{endpoint}' is not a valid etcd endpoint.", nameof(endpoint));
}
