using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;
using Milvus.Domain.Telemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Milvus.Api.Hosting;

/// <summary>OpenTelemetry metrics with a Prometheus scraping endpoint at <c>/metrics</c>.</summary>
public static class TelemetryExtensions
{
    public static IServiceCollection AddMilvusTelemetry(this IServiceCollection services)
    {
        services.AddOpenTelemetry()
            // target_info names the service and this process (service_instance_id), as OpenTelemetry's conventions ask.
            .ConfigureResource(resource => resource.AddService("milvus-gateway", serviceVersion: typeof(TelemetryExtensions).Assembly.GetName().Version?.ToString()))
            .WithMetrics(metrics => metrics
            .AddMeter(MilvusTelemetry.MeterName)
            // The runtime's own metrics (GC, heap, thread pool, CPU, working set), in the gateway's namespace.
            .AddMeter("System.Runtime")
            .AddView(instrument => instrument.Meter.Name == "System.Runtime" ? new MetricStreamConfiguration { Name = RuntimeMetricName(instrument.Name) } : null)
            // ASP.NET Core's own request metrics, renamed into the gateway's namespace: rates and latencies per
            // route come out as milvus_http_server_request_duration_seconds_{count,sum,bucket}.
            .AddMeter("Microsoft.AspNetCore.Hosting")
            .AddView("http.server.request.duration", new MetricStreamConfiguration { Name = "milvus.http.server.request.duration" })
            .AddView("http.server.active_requests", new MetricStreamConfiguration { Name = "milvus.http.server.active_requests" })
            .AddPrometheusExporter());
        return services;
    }

    /// <summary>
    /// A runtime instrument's name in the gateway's namespace. Prometheus reserves a <c>_count</c> suffix for histograms
    /// and summaries, so the gauges that end in <c>.count</c> (assemblies, CPUs, timers) end in <c>.number</c> instead.
    /// </summary>
    private static string RuntimeMetricName(string name) =>
        "milvus." + (name.EndsWith(".count", StringComparison.Ordinal) ? name[..^".count".Length] + ".number" : name);

    /// <summary>
    /// Wraps the stores and the message queue registered so far with their instruments: every
    /// <see cref="IMetaKv"/>, <see cref="ITxnKv"/> and object store <see cref="IBaseKv"/> gets KV latencies and
    /// errors per backend, every <see cref="IMqClient"/> gets per-channel counts and consumer lag, and RocksMQ (when
    /// registered) its disk size. Call it after the subsystems have registered, so that it sees them whatever
    /// their backend.
    /// </summary>
    public static IServiceCollection AddMilvusInstrumentation(this IServiceCollection services)
    {
        services.Decorate<IMetaKv>(null, (sp, inner) => new InstrumentedMetaKv(inner, "meta", sp.GetRequiredService<KvStores>().MetaBackend, sp.GetRequiredService<TimeProvider>()));
        services.Decorate<ITxnKv>(null, (sp, inner) => inner is IMetaKv meta
            ? new InstrumentedMetaKv(meta, "meta", sp.GetRequiredService<KvStores>().MetaBackend, sp.GetRequiredService<TimeProvider>())
            : inner);
        services.Decorate<IBaseKv>(KvServiceCollectionExtensions.ObjectStoreKey, (sp, inner) =>
            new InstrumentedKv(inner, "objects", sp.GetRequiredService<KvStores>().ObjectBackend, sp.GetRequiredService<TimeProvider>()));
        services.Decorate<IMqClient>(null, (sp, inner) =>
        {
            if (sp.GetService<RocksMqDatabase>() is not null)
            {
                // Created with the queue and disposed with the container, which owns both.
                sp.GetRequiredService<RocksMqDiskGauge>();
            }
            return new InstrumentedMqClient(inner);
        });
        services.AddSingleton(sp => new RocksMqDiskGauge(new RocksMqDiskTelemetry(() => sp.GetService<RocksMqDatabase>()?.Path)));
        return services;
    }

    /// <summary>Replaces each registration of <typeparamref name="T"/> under <paramref name="key"/> with a decorated one.</summary>
    private static void Decorate<T>(this IServiceCollection services, object? key, Func<IServiceProvider, T, T> decorate)
        where T : class
    {
        for (var i = 0; i < services.Count; i++)
        {
            var descriptor = services[i];
            if (descriptor.ServiceType != typeof(T) || !Equals(descriptor.ServiceKey, key))
            {
                continue;
            }
            services[i] = key is null
                ? new ServiceDescriptor(typeof(T), sp => decorate(sp, (T)Create(sp, descriptor, null)), descriptor.Lifetime)
                : new ServiceDescriptor(typeof(T), key, (sp, k) => decorate(sp, (T)Create(sp, descriptor, k)), descriptor.Lifetime);
        }
    }

    private static object Create(IServiceProvider sp, ServiceDescriptor descriptor, object? key)
    {
        if (descriptor.IsKeyedService)
        {
            return descriptor.KeyedImplementationInstance
                ?? descriptor.KeyedImplementationFactory?.Invoke(sp, key)
                ?? ActivatorUtilities.CreateInstance(sp, descriptor.KeyedImplementationType!);
        }
        return descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(sp)
            ?? ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!);
    }

    /// <summary>Holds the RocksMQ disk gauge's registration for the container's lifetime.</summary>
    private sealed class RocksMqDiskGauge(RocksMqDiskTelemetry telemetry) : IDisposable
    {
        public void Dispose() => telemetry.Dispose();
    }
}
