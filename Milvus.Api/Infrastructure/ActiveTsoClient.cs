using System.Net.Http.Headers;
using Milvus.Api.Security;
using Milvus.Domain;
using Milvus.Domain.Sessions;
using Milvus.Domain.Tso;
using Milvus.Workers.Tso.Http;

namespace Milvus.Api.Infrastructure;

/// <summary>
/// Forwards <c>POST /api/v1/tso</c> and <c>POST /api/v1/ids</c> from a standby gateway to the active one, found
/// through the TSO role's session. The caller's API key goes along. A request is forwarded once at most; no
/// known active gateway, an unreachable one, a timeout or an error answer is a 503.
/// </summary>
public sealed class ActiveTsoClient(HttpClient http, ITsoRole tso)
{
    /// <summary>Marks a forwarded request, so that it is never forwarded again.</summary>
    public const string ForwardedHeader = ClusterForwarding.Header;

    /// <summary>How long a forwarded request may take before the caller gets a 503.</summary>
    public static readonly TimeSpan Timeout = ClusterForwarding.Timeout;

    /// <summary>Timestamps from the active gateway.</summary>
    /// <exception cref="TsoForwardingException">The active gateway is unknown or did not answer.</exception>
    public Task<TimestampResponse> AllocateTimestampsAsync(TimestampRequest request, HttpRequest incoming, CancellationToken cancellationToken) =>
        ForwardAsync<TimestampRequest, TimestampResponse>("api/v1/tso", request, incoming, cancellationToken);

    /// <summary>Ids from the active gateway.</summary>
    /// <exception cref="TsoForwardingException">The active gateway is unknown or did not answer.</exception>
    public Task<IdResponse> AllocateIdsAsync(IdRequest request, HttpRequest incoming, CancellationToken cancellationToken) =>
        ForwardAsync<IdRequest, IdResponse>("api/v1/ids", request, incoming, cancellationToken);

    private async Task<TResponse> ForwardAsync<TRequest, TResponse>(string path, TRequest body, HttpRequest incoming, CancellationToken cancellationToken)
    {
        if (incoming.Headers.ContainsKey(ForwardedHeader))
        {
            throw new TsoForwardingException("This gateway is not the active TSO either; a request is forwarded once at most.");
        }
        var address = tso.ActiveAddress ?? throw new TsoForwardingException(tso.NoActiveReason());
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(address.TrimEnd('/') + "/"), path))
        {
            Content = JsonContent.Create(body),
        };
        message.Headers.Add(ForwardedHeader, tso.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (AuthenticationHeaderValue.TryParse(incoming.Headers.Authorization.ToString(), out var authorization))
        {
            message.Headers.Authorization = authorization;
        }
        if (incoming.Headers.TryGetValue(ApiKeyAuthenticationHandler.HeaderName, out var key))
        {
            message.Headers.TryAddWithoutValidation(ApiKeyAuthenticationHandler.HeaderName, key.ToString());
        }
        try
        {
            using var response = await http.SendAsync(message, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new TsoForwardingException($"The active TSO at {address} answered {(int)response.StatusCode}.");
            }
            return await response.Content.ReadFromJsonAsync<TResponse>(cancellationToken).ConfigureAwait(false)
                ?? throw new TsoForwardingException($"The active TSO at {address} answered with an empty body.");
        }
        catch (HttpRequestException e)
        {
            throw new TsoForwardingException($"The active TSO at {address} cannot be reached: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TsoForwardingException($"The active TSO at {address} did not answer within {Timeout.TotalSeconds} s.", e);
        }
    }
}

/// <summary>A standby could not get an answer from the active TSO; the HTTP layer answers 503.</summary>
public sealed class TsoForwardingException(string message, Exception? inner = null) : Exception(message, inner), IMilvusError
{
    public ErrorKind Kind => ErrorKind.Unavailable;
}
