using Hangfire;
using Hangfire.Dashboard;
using Hangfire.Redis.StackExchange;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Milvus.Api.Security;
using Milvus.Domain.Kv;
using Milvus.Domain.Params;
using Milvus.Workers.Hosting;
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
        services.AddMilvusOptions<JobsOptions>(JobsOptions.SectionName, o => o.Validate());
        // The storage is this host's own singleton. Hangfire's default registration hands out the static
        // JobStorage.Current, which several hosts in one process (as in tests) would share by accident.
        services.AddSingleton<JobStorage>(provider =>
        {
            var jobs = provider.GetRequiredService<IOptions<JobsOptions>>().Value;
            return jobs.Storage switch
            {
                JobStorageKind.Memory => new Hangfire.InMemory.InMemoryStorage(),
                JobStorageKind.Redis => new RedisStorage(
                    provider.GetRequiredService<IOptions<RedisOptions>>().Value.Configuration,
                    new RedisStorageOptions { Prefix = jobs.RedisPrefix }),
                _ => throw new InvalidOperationException($"Milvus:Jobs:Storage has the unknown value '{jobs.Storage}'."),
            };
        });
        // Likewise the activator: jobs resolve their services from this host's container, not from the static one.
        services.AddSingleton<JobActivator>(provider => new Hangfire.AspNetCore.AspNetCoreJobActivator(provider.GetRequiredService<IServiceScopeFactory>()));
        services.AddHangfire((provider, configuration) => configuration
            .UseLogProvider(new HostLogProvider(provider.GetRequiredService<ILoggerFactory>()))
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings());
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

    /// <summary>
    /// Maps the dashboard: loopback requests only, or, when keys are configured, holders of an API key and browsers that
    /// signed in with one at <c>/hangfire/login</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapMilvusJobsDashboard(this IEndpointRouteBuilder app)
    {
        app.MapDashboardLogin(DashboardPath);
        app.MapHangfireDashboard(DashboardPath, new DashboardOptions
        {
            AsyncAuthorization = [new DashboardAuthorization()],
            DisplayStorageConnectionString = false,
        }).AllowAnonymous();
        return app;
    }

    /// <summary>
    /// Hangfire keeps its log provider in a static. This bridge to the host's logging stays harmless after its
    /// host is disposed (another host in the same process, as in tests, may still be running jobs).
    /// </summary>
    private sealed class HostLogProvider(ILoggerFactory factory) : Hangfire.Logging.ILogProvider
    {
        public Hangfire.Logging.ILog GetLogger(string name) => new Logger(factory, name);

        private sealed class Logger(ILoggerFactory factory, string name) : Hangfire.Logging.ILog
        {
            private ILogger? _logger;

            public bool Log(Hangfire.Logging.LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null)
            {
                var level = (LogLevel)(int)logLevel;
                try
                {
                    var logger = _logger ??= factory.CreateLogger(name);
                    if (messageFunc is null || !logger.IsEnabled(level))
                    {
                        return logger.IsEnabled(level);
                    }
#pragma warning disable CA2254 // Hangfire hands over finished messages, not templates.
                    logger.Log(level, exception, messageFunc());
#pragma warning restore CA2254
                    return true;
                }
                catch (ObjectDisposedException)
                {
                    // The host this bridge belongs to has shut down; its logs have nowhere to go.
                    return false;
                }
            }
        }
    }

    private sealed class DashboardAuthorization : IDashboardAsyncAuthorizationFilter
    {
        public async Task<bool> AuthorizeAsync(DashboardContext context)
        {
            var http = context.GetHttpContext();
            var keys = http.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.ApiKeys;
            if (keys.Length > 0)
            {
                // A client with a key, or a browser that signed in at /hangfire/login.
                var result = await http.AuthenticateAsync(ApiKeyAuthenticationHandler.SchemeName).ConfigureAwait(false);
                return result.Succeeded || DashboardLogin.HasValidCookie(http, keys);
            }
            var remote = http.Connection.RemoteIpAddress;
            // The in-memory test host has no remote address: it is local by construction.
            return remote is null || System.Net.IPAddress.IsLoopback(remote);
        }
    }
}
