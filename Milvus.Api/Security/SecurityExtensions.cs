using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Milvus.Domain.Params;
using Milvus.Domain.Sessions;

using Milvus.Workers.Hosting;

namespace Milvus.Api.Security;

/// <summary>API keys and rate limiting.</summary>
public static partial class SecurityExtensions
{
    /// <summary>The path of the OpenAPI document and Swagger UI, which need no key.</summary>
    public const string OpenDocsPath = "/swagger";

    /// <summary>
    /// Registers API-key authentication. With keys configured, every endpoint needs one unless it allows
    /// anonymous access (the health routes do); with none, everything is open.
    /// </summary>
    public static IServiceCollection AddMilvusSecurity(this IServiceCollection services)
    {
        services.AddMilvusOptions<RateLimitOptions>(RateLimitOptions.SectionName, o => o.Validate());
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization();
        // Read from the bound options, not at registration, so every configuration layer has been applied.
        services.AddOptions<AuthorizationOptions>().Configure<IOptions<AuthOptions>>((options, auth) =>
        {
            if (auth.Value.ApiKeys.Length > 0)
            {
                // The OpenAPI document and Swagger UI stay open: the UI is where a user enters the key.
                options.FallbackPolicy = new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName)
                    .RequireAssertion(context => context.User.Identity?.IsAuthenticated == true
                        || (context.Resource is HttpContext http && http.Request.Path.StartsWithSegments(OpenDocsPath)))
                    .Build();
            }
        });

        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptionsMonitor<RateLimitOptions>>((options, rate) =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            // One token bucket per client address: a noisy client cannot starve the others. The rate is read on every
            // request, so a run-time override applies at once: the partition key holds the rate, and a changed rate
            // starts new buckets (the old ones are dropped once idle).
            // Health probes, and the calls of the cluster's other gateways when they carry a key (the header alone
            // proves nothing), are not limited: a limited report or allocation would stall the whole cluster.
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                var limits = rate.CurrentValue;
                if (limits.PermitsPerSecond <= 0 || context.Request.Path.StartsWithSegments("/health"))
                {
                    return RateLimitPartition.GetNoLimiter("unlimited");
                }
                if (context.Request.Headers.ContainsKey(ClusterForwarding.Header) && context.User.Identity?.IsAuthenticated == true)
                {
                    return RateLimitPartition.GetNoLimiter("gateways");
                }
                var (permits, burst) = (limits.PermitsPerSecond, Math.Max(limits.Burst, limits.PermitsPerSecond));
                return RateLimitPartition.GetTokenBucketLimiter(
                    string.Create(CultureInfo.InvariantCulture, $"{context.Connection.RemoteIpAddress?.ToString() ?? "unknown"}/{permits}/{burst}"),
                    _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = burst,
                        TokensPerPeriod = permits,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    });
            });
            options.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                var problems = context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>();
                await problems.WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context.HttpContext,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests",
                        Detail = $"This client is over Milvus:RateLimit:PermitsPerSecond ({rate.CurrentValue.PermitsPerSecond}). Retry after {seconds} s.",
                    },
                }).ConfigureAwait(false);
            };
        });
        return services;
    }

    /// <summary>
    /// Adds authentication and authorization when API keys are configured, and the rate limiter while a rate is
    /// (<c>Milvus:RateLimit:PermitsPerSecond</c>, which a run-time override may change): a gateway without them pays
    /// nothing for them on its hottest routes.
    /// </summary>
    public static WebApplication UseMilvusSecurity(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.ApiKeys.Length > 0)
        {
            app.UseAuthentication();
            app.UseAuthorization();
        }
        // The limiter runs only while a rate is set (a run-time override may set or clear one).
        var rate = app.Services.GetRequiredService<IOptionsMonitor<RateLimitOptions>>();
        app.UseWhen(_ => rate.CurrentValue.PermitsPerSecond > 0, limited => limited.UseRateLimiter());
        return app;
    }

    /// <summary>Logs a warning at start when the gateway listens beyond loopback with no API keys.</summary>
    public static void WarnWhenExposedWithoutKeys(this WebApplication app)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var keys = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.ApiKeys;
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var exposed = addresses.Where(a => !IsLoopback(a)).ToList();
            if (keys.Length == 0 && exposed.Count > 0)
            {
                Log.ExposedWithoutKeys(app.Logger, string.Join(", ", exposed));
            }
        });
    }

    private static bool IsLoopback(string address)
    {
        if (!Uri.TryCreate(address.Replace("*", "0.0.0.0", StringComparison.Ordinal).Replace("+", "0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return false;
        }
        return uri.Host == "localhost" || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "The gateway listens on {Addresses}, beyond loopback, and Milvus:Auth:ApiKeys is empty: anyone who can reach it can use it.")]
        public static partial void ExposedWithoutKeys(ILogger logger, string addresses);
    }
}
