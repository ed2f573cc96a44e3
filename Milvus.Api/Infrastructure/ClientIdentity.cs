using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Milvus.Api.Security;
using Milvus.Domain.Sessions;

namespace Milvus.Api.Infrastructure;

/// <summary>
/// Who a request comes from, for per-client limits: the API key it presents (as a short hash, never the key), else
/// its address. A call that another gateway forwards carries the original client in <see cref="HeaderName"/>, which is
/// believed only on such a call, and only when it is authenticated or the gateway has no keys.
/// </summary>
public static class ClientIdentity
{
    /// <summary>The header in which a gateway passes on the client of a call it forwards.</summary>
    public const string HeaderName = "X-Milvus-Client";

    /// <summary>The client of <paramref name="context"/>'s request.</summary>
    public static string Of(HttpContext context)
    {
        var request = context.Request;
        var trusted = context.User.Identity?.IsAuthenticated == true || context.RequestServices.GetRequiredService<IOptions<Domain.Params.AuthOptions>>().Value.ApiKeys.Length == 0;
        if (trusted && request.Headers.ContainsKey(ClusterForwarding.Header) && request.Headers.TryGetValue(HeaderName, out var forwarded) && forwarded.ToString() is { Length: > 0 and <= 128 } client)
        {
            return client;
        }
        if (KeyOf(request) is { Length: > 0 } key)
        {
            return "key:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
        }
        return "address:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }

    private static string? KeyOf(HttpRequest request) =>
        request.Headers.TryGetValue(ApiKeyAuthenticationHandler.HeaderName, out var key) && key.ToString().Length > 0 ? key.ToString()
        : request.Headers.Authorization.ToString() is { } authorization && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim()
        : null;
}
