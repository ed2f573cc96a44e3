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
}
