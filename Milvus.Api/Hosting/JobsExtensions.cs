using Hangfire;
using Hangfire.Dashboard;
using Hangfire.Redis.StackExchange;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Milvus.Api.Security;
using Milvus.Domain.Params;
using Milvus.Workers.Jobs;

namespace Milvus.Api.Hosting;

/// <summary>Hangfire: the recurring maintenance jobs, their storage, and the dashboard at <c>/hangfire</c>.</summary>
public static class JobsExtensions
{
    /// <summary>The dashboard's path.</summary>
    public const string DashboardPath = "/hangfire";

    /// <summary>
    /// Registers Hangfire with in-memory storage (embedded mode) or Redis storage (distributed mode, where the
    /// gateways share the schedule and the job locks), a small server, and the maintenance-job scheduler.
    /// </summary>
    public static IServiceCollection AddMilvusJobs(this IServiceCollection services)
    {
        services.AddHangfire((provider, configuration) =>
        {
            var jobs = provider.GetRequiredService<IOptions<JobsOptions>>().Value;
            configuration
                .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                .UseRecommendedSerializerSettings();
            switch (jobs.Storage)
            {
                case JobStorageKind.Memory:
                    configuration.UseInMemoryStorage();
                    break;
                case JobStorageKind.Redis:
                    var redis = provider.GetRequiredService<IOptions<RedisOptions>>().Value;
                    configuration.UseRedisStorage(redis.Configuration, new RedisStorageOptions { Prefix = jobs.RedisPrefix });
                    break;
                default:
                    throw new InvalidOperationException($"Milvus:Jobs:Storage has the unknown value '{jobs.Storage}'.");
            }
        });
        services.AddHangfireServer((provider, server) =>
        {
            var jobs = provider.GetRequiredService<IOptions<JobsOptions>>().Value;
            server.WorkerCount = jobs.WorkerCount;
            server.ServerName = $"milvus-gateway-{Environment.MachineName}-{Environment.ProcessId}";
            server.SchedulePollingInterval = TimeSpan.FromSeconds(jobs.PollingSeconds);
        });
        services.AddTransient<MaintenanceJobRunner>();
        services.AddHostedService<MaintenanceJobScheduler>();
        return services;
    }

    /// <summary>Maps the dashboard: loopback requests only, or holders of an API key when keys are configured.</summary>
    public static IEndpointRouteBuilder MapMilvusJobsDashboard(this IEndpointRouteBuilder app)
    {
        app.MapHangfireDashboard(DashboardPath, new DashboardOptions
        {
            AsyncAuthorization = [new DashboardAuthorization()],
            DisplayStorageConnectionString = false,
        }).AllowAnonymous();
        return app;
    }

    private sealed class DashboardAuthorization : IDashboardAsyncAuthorizationFilter
    {
        public async Task<bool> AuthorizeAsync(DashboardContext context)
        {
            var http = context.GetHttpContext();
            var keys = http.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.ApiKeys;
            if (keys.Length > 0)
            {
                var result = await http.AuthenticateAsync(ApiKeyAuthenticationHandler.SchemeName).ConfigureAwait(false);
                return result.Succeeded;
            }
            var remote = http.Connection.RemoteIpAddress;
            // The in-memory test host has no remote address: it is local by construction.
            return remote is null || System.Net.IPAddress.IsLoopback(remote);
        }
    }
}
