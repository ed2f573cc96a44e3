using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Milvus.Domain.Params;

namespace Milvus.Api.Infrastructure;

/// <summary>
/// Applies <c>Milvus:Limits:MaxRequestBytes</c>: a declared length over the limit gets 413 before the body is
/// read, and the server's own body-size limit stops a chunked body that grows past it.
/// </summary>
public sealed class RequestSizeLimitMiddleware(RequestDelegate next, IOptions<LimitsOptions> limits)
{
    public async Task InvokeAsync(HttpContext context, IProblemDetailsService problems)
    {
        var max = limits.Value.MaxRequestBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = max;
        }
        if (context.Request.ContentLength > max)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await problems.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new ProblemDetails
                {
                    Status = StatusCodes.Status413PayloadTooLarge,
                    Title = "Payload too large",
                    Detail = $"The request body has {context.Request.ContentLength} bytes; Milvus:Limits:MaxRequestBytes allows {max}.",
                },
            }).ConfigureAwait(false);
            return;
        }
        await next(context).ConfigureAwait(false);
    }
}
