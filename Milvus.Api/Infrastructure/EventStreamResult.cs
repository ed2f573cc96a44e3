using System.Net.ServerSentEvents;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace Milvus.Api.Infrastructure;

/// <summary>
/// A Server-Sent Events answer in the gateway's JSON. Unlike <c>TypedResults.ServerSentEvents</c>, it sends the status
/// and headers at once, so a client (Swagger UI among them) knows it is subscribed before the first event, and it ends
/// quietly when the client leaves. It documents itself as <c>text/event-stream</c> of <typeparamref name="T"/>.
/// </summary>
public sealed class EventStreamResult<T>(IAsyncEnumerable<SseItem<T>> events) : IResult, IStatusCodeHttpResult, IContentTypeHttpResult, IEndpointMetadataProvider
{
    public int? StatusCode => StatusCodes.Status200OK;

    public string ContentType => "text/event-stream";

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(T), ["text/event-stream"]));
    }

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-cache,no-store";
        httpContext.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();
        var json = httpContext.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        var aborted = httpContext.RequestAborted;
        try
        {
            await response.StartAsync(aborted);
            await response.Body.FlushAsync(aborted);
            await SseFormatter.WriteAsync(events, response.Body, (item, writer) =>
            {
                using var jsonWriter = new Utf8JsonWriter(writer);
                JsonSerializer.Serialize(jsonWriter, item.Data, json);
            }, aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client left; whatever the events come from ends with the request.
        }
    }
}
