using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Milvus.Api.Security;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream.Gateway;
using Milvus.Domain.Sessions;

namespace Milvus.Api.Infrastructure;

/// <summary>
/// Serves a msgstream subscription call through the gateway that holds the subscription: the same method, path,
/// query and JSON body go there with the caller's credentials, and its answer (status, content type and body, an SSE
/// stream as it comes) goes back unchanged, so the client never follows a redirect. A request is forwarded once at
/// most; an unreachable holder is a 503 that says when the subscription moves on.
/// </summary>
public sealed class SubscriptionForwarder(HttpClient http, SubscriptionOwners owners, IOptions<JsonOptions> json, IOptions<StreamSubscriptionOptions> options)
{
    private static readonly string[] CopiedHeaders = ["Authorization", ApiKeyAuthenticationHandler.HeaderName, "Accept", "Accept-Type-Allow-Int64"];

    /// <summary>
    /// A result that serves the call through the holder of <paramref name="subName"/>, or null when this gateway holds
    /// it (it may have just claimed it) and serves the call itself.
    /// </summary>
    /// <exception cref="SubscriptionOwnerUnavailableException">The holder moved on under a forwarded call, or cannot be reached.</exception>
    public async Task<ForwardedResult?> ThroughHolderAsync(string subName, HttpContext context, object? body, bool streaming = false)
    {
        var cancellationToken = context.RequestAborted;
        if (!MqNames.IsValid(subName))
        {
            // No subscription has such a name; the call fails here as it would anywhere, and claims nothing.
            return null;
        }
        if (await owners.RemoteOwnerAsync(subName, cancellationToken) is not { } holder)
        {
            return null;
        }
        if (context.Request.Headers.ContainsKey(ClusterForwarding.Header))
        {
            throw new SubscriptionOwnerUnavailableException(
                $"Subscription '{subName}' moved to the gateway at {holder} while this call was forwarded here; a call is forwarded once at most, retry.");
        }
        var target = new Uri(new Uri(holder.TrimEnd('/') + "/"), context.Request.Path.Value!.TrimStart('/') + context.Request.QueryString);
        using var message = new HttpRequestMessage(new HttpMethod(context.Request.Method), target);
        if (body is not null)
        {
            message.Content = JsonContent.Create(body, body.GetType(), options: json.Value.SerializerOptions);
        }
        foreach (var name in CopiedHeaders)
        {
            if (context.Request.Headers.TryGetValue(name, out var value))
            {
                message.Headers.TryAddWithoutValidation(name, value.ToString());
            }
        }
        message.Headers.Add(ClusterForwarding.Header, "subscription");
        // The holder counts the subscription against the caller, not against this gateway.
        message.Headers.TryAddWithoutValidation(ClientIdentity.HeaderName, ClientIdentity.Of(context));
        // A consume waits up to its longest wait; an SSE stream lasts as long as the client stays.
        using var timeout = streaming ? null : new CancellationTokenSource(TimeSpan.FromMilliseconds(options.Value.MaxWaitMs) + TimeSpan.FromSeconds(30));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout?.Token ?? CancellationToken.None);
        try
        {
            var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            return new ForwardedResult(response);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(subName, holder, e.Message, e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unreachable(subName, holder, "it did not answer in time", e);
        }
    }

    /// <summary>
    /// Serves a call here with <paramref name="serve"/>; when it fails and leaves no subscription of that name open
    /// here, the record that the call claimed goes again, so a failed call changes nothing.
    /// </summary>
    public async Task<T> ServeHereAsync<T>(string subName, Func<Task<T>> serve)
    {
        try
        {
            return await serve();
        }
        catch
        {
            await owners.ReleaseUnlessOpenAsync(subName);
            throw;
        }
    }

    private static SubscriptionOwnerUnavailableException Unreachable(string subName, string holder, string reason, Exception inner) =>
        new($"Subscription '{subName}' is held by the gateway at {holder}, which cannot be reached ({reason}). " +
            "If that gateway is gone, the subscription moves to the next gateway called once its session lease ends (Milvus:Session:TtlSeconds); retry shortly.", inner);
}

/// <summary>The holder's answer, copied to the caller as it arrives.</summary>
public sealed class ForwardedResult(HttpResponseMessage response) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using (response)
        {
            httpContext.Response.StatusCode = (int)response.StatusCode;
            if (response.Content.Headers.ContentType is { } type)
            {
                httpContext.Response.ContentType = type.ToString();
            }
            if (response.Headers.CacheControl is CacheControlHeaderValue cache)
            {
                httpContext.Response.Headers.CacheControl = cache.ToString();
            }
            var buffer = new byte[16 * 1024];
            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(httpContext.RequestAborted);
                int read;
                while ((read = await body.ReadAsync(buffer, httpContext.RequestAborted)) > 0)
                {
                    await httpContext.Response.Body.WriteAsync(buffer.AsMemory(0, read), httpContext.RequestAborted);
                    // An SSE event goes on at once.
                    await httpContext.Response.Body.FlushAsync(httpContext.RequestAborted);
                }
            }
            catch (OperationCanceledException) when (httpContext.RequestAborted.IsCancellationRequested)
            {
                // The client left; the holder's stream ends with this response.
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                // The holder went away mid-answer (the status is sent already): the response ends here, and the client
                // sees a cut stream, as if the holder had been called directly.
                httpContext.Abort();
            }
        }
    }
}
