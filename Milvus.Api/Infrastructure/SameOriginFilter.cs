namespace Milvus.Api.Infrastructure;

/// <summary>
/// Refuses a browser's cross-site call of a GET that changes state (a consume moves its group): a page on another site
/// could otherwise make a visitor's browser consume, since a GET needs no preflight. Browsers say where a request comes
/// from in <c>Sec-Fetch-Site</c> (and in <c>Origin</c>); a request from another site gets a 403 problem and changes
/// nothing. Clients that are not browsers send neither header and are not affected.
/// </summary>
public sealed class SameOriginFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var request = context.HttpContext.Request;
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        var origin = request.Headers.Origin.ToString();
        var crossSite = site is "cross-site" or "same-site"
            || origin.Length > 0 && !string.Equals(origin, $"{request.Scheme}://{request.Host}", StringComparison.OrdinalIgnoreCase);
        return crossSite
            ? TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                detail: "A consume moves its consumer group, so it is refused when a browser sends it from another site.")
            : await next(context).ConfigureAwait(false);
    }
}
