using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Milvus.Domain.Params;

namespace Milvus.Api.Security;

/// <summary>
/// A browser's way into the Hangfire dashboard when API keys are configured, since a browser cannot send a key
/// header: <c>/hangfire/login</c> takes a key once from a form and answers with a cookie that any gateway with the
/// same keys accepts until it expires. The cookie holds an expiry and an HMAC of it keyed by the API key, never the key;
/// it is HttpOnly, SameSite=Strict and scoped to the dashboard's path. A browser that opens the dashboard without it is
/// sent to the form. The key is never logged.
/// </summary>
public static class DashboardLogin
{
    /// <summary>The cookie's name.</summary>
    public const string CookieName = "milvus-dashboard";

    /// <summary>How long a sign-in lasts.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);

    private const string Purpose = "milvus-hangfire-dashboard|";

    /// <summary>Maps the form and its post under <paramref name="dashboardPath"/>/login, open to anyone.</summary>
    public static IEndpointRouteBuilder MapDashboardLogin(this IEndpointRouteBuilder app, string dashboardPath)
    {
        var login = dashboardPath + "/login";
        app.MapGet(login, () => Page(dashboardPath, error: null, StatusCodes.Status200OK)).AllowAnonymous().ExcludeFromDescription();
        app.MapPost(login, SignInAsync).AllowAnonymous().ExcludeFromDescription().DisableAntiforgery();
        return app;
    }

    /// <summary>
    /// Sends a browser that asks for a dashboard page without a key or a valid cookie to the form (other clients get the
    /// dashboard's own 401).
    /// </summary>
    public static IApplicationBuilder UseDashboardLogin(this IApplicationBuilder app, string dashboardPath) =>
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            if (HttpMethods.IsGet(request.Method)
                && request.Path.StartsWithSegments(dashboardPath)
                && !request.Path.StartsWithSegments(dashboardPath + "/login")
                && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase)
                && context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.ApiKeys is { Length: > 0 } keys
                && !request.Headers.ContainsKey(ApiKeyAuthenticationHandler.HeaderName)
                && !request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                && !HasValidCookie(context, keys))
            {
                context.Response.Redirect(dashboardPath + "/login");
                return;
            }
            await next(context).ConfigureAwait(false);
        });

    /// <summary>Whether the request carries a dashboard cookie that one of <paramref name="keys"/> signed and that has not expired.</summary>
    public static bool HasValidCookie(HttpContext context, IReadOnlyList<string> keys)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(keys);
        if (!context.Request.Cookies.TryGetValue(CookieName, out var value) || value is null)
        {
            return false;
        }
        var parts = value.Split('.');
        if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var expiry))
        {
            return false;
        }
        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeSeconds();
        byte[] presented;
        try
        {
            presented = Base64Url.DecodeFromChars(parts[1]);
        }
        catch (FormatException)
        {
            return false;
        }
        var match = false;
        foreach (var key in keys)
        {
            // No early exit: every configured key is compared.
            match |= CryptographicOperations.FixedTimeEquals(presented, Sign(key, expiry));
        }
        return match && expiry > now;
    }

    private static async Task<IResult> SignInAsync(HttpContext context, IOptions<AuthOptions> auth, TimeProvider time)
    {
        var keys = auth.Value.ApiKeys;
        if (keys.Length == 0)
        {
            // No keys: the dashboard is open to loopback clients, and there is nothing to sign in with.
            return Results.Redirect(context.Request.PathBase + DashboardPath(context));
        }
        if (!context.Request.HasFormContentType)
        {
            return Page(DashboardPath(context), "Send the key from the form.", StatusCodes.Status415UnsupportedMediaType);
        }
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var presented = form["key"].ToString();
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        string? matched = null;
        foreach (var key in keys)
        {
            if (CryptographicOperations.FixedTimeEquals(digest, SHA256.HashData(Encoding.UTF8.GetBytes(key))))
            {
                matched = key;
            }
        }
        if (matched is null)
        {
            return Page(DashboardPath(context), "That key is not one of Milvus:Auth:ApiKeys.", StatusCodes.Status401Unauthorized);
        }
        var expires = time.GetUtcNow() + Lifetime;
        var expiry = expires.ToUnixTimeSeconds();
        context.Response.Cookies.Append(CookieName, $"{expiry.ToString(CultureInfo.InvariantCulture)}.{Base64Url.EncodeToString(Sign(matched, expiry))}", new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = context.Request.IsHttps,
            Path = DashboardPath(context),
            Expires = expires,
            IsEssential = true,
        });
        return Results.Redirect(context.Request.PathBase + DashboardPath(context));
    }

    /// <summary>The dashboard's path: the login route without its last segment.</summary>
    private static string DashboardPath(HttpContext context) => context.Request.Path.Value![..context.Request.Path.Value!.LastIndexOf('/')];

    private static byte[] Sign(string key, long expiry) =>
        HMACSHA256.HashData(SHA256.HashData(Encoding.UTF8.GetBytes(key)), Encoding.UTF8.GetBytes(Purpose + expiry.ToString(CultureInfo.InvariantCulture)));

    private static IResult Page(string dashboardPath, string? error, int status)
    {
        var message = error is null ? "" : $"<p role=\"alert\" class=\"error\">{WebUtility.HtmlEncode(error)}</p>";
        var html = $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head><meta charset="utf-8"><title>Sign in to the jobs dashboard</title>
            <style>body{font-family:sans-serif;max-width:28rem;margin:4rem auto}input,button{font-size:1rem;padding:.4rem}.error{color:#b00}</style></head>
            <body>
            <h1>Jobs dashboard</h1>
            <p>This gateway needs an API key (one of Milvus:Auth:ApiKeys). It is sent once; the browser keeps a cookie for {{Lifetime.TotalHours}} hours.</p>
            {{message}}
            <form method="post" action="{{WebUtility.HtmlEncode(dashboardPath)}}/login">
            <label>API key <input type="password" name="key" autocomplete="current-password" required autofocus></label>
            <button type="submit">Sign in</button>
            </form>
            </body>
            </html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);
    }
}
