using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Milvus.Api.Infrastructure;

/// <summary>
/// Checks every request's body before any endpoint reads it. <c>Milvus:Limits:MaxRequestBytes</c>: a declared
/// length over the limit gets 413 before the body is read, and the server's own body-size limit stops a chunked
/// body that grows past it. A body whose Content-Type names a charset other than UTF-8 gets 415: the JSON reader
/// reads UTF-8 only, so a latin1 body would be misread rather than refused.
/// </summary>
public sealed class RequestSizeLimitMiddleware(RequestDelegate next, IOptionsMonitor<LimitsOptions> limits)
{
    public async Task InvokeAsync(HttpContext context, IProblemDetailsService problems)
    {
        var max = limits.CurrentValue.MaxRequestBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = max;
        }
        if (context.Request.ContentLength > max)
        {
            await RefuseAsync(context, problems, StatusCodes.Status413PayloadTooLarge,
                $"The request body has {context.Request.ContentLength} bytes; Milvus:Limits:MaxRequestBytes allows {max}.").ConfigureAwait(false);
            return;
        }
        if (UnknownCharset(context.Request.ContentType) is { } charset)
        {
            await RefuseAsync(context, problems, StatusCodes.Status415UnsupportedMediaType,
                $"The request's Content-Type names the charset '{charset}'; the gateway reads UTF-8 JSON only.").ConfigureAwait(false);
            return;
        }
        await next(context).ConfigureAwait(false);
    }

    /// <summary>The charset of a body other than UTF-8, which the JSON reader would misread as UTF-8; null for none or UTF-8.</summary>
    private static string? UnknownCharset(string? contentType)
    {
        if (contentType is null || !MediaTypeHeaderValue.TryParse(contentType, out var mediaType) || !mediaType.Charset.HasValue)
        {
            return null;
        }
        var charset = mediaType.Charset.Value!.Trim('"');
        try
        {
            return Encoding.GetEncoding(charset).CodePage == Encoding.UTF8.CodePage ? null : charset;
        }
        catch (ArgumentException)
        {
            return charset;
        }
    }

    private static Task RefuseAsync(HttpContext context, IProblemDetailsService problems, int status, string detail)
    {
        context.Response.StatusCode = status;
        return problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = ProblemExceptionHandler.TitleFor(status), Detail = detail },
        }).AsTask();
    }
}
