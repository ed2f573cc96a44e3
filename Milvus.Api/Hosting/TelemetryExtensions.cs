using Milvus.Domain.Telemetry;
using OpenTelemetry.Metrics;

namespace Milvus.Api.Hosting;

/// <summary>OpenTelemetry metrics with a Prometheus scraping endpoint at <c>/metrics</c>.</summary>
public static class TelemetryExtensions
{
    public static IServiceCollection AddMilvusTelemetry(this IServiceCollection services)
    {
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(MilvusTelemetry.MeterName)
            // ASP.NET Core's own request metrics, renamed into the gateway's namespace: rates and latencies per
            // route come out as milvus_http_server_request_duration_seconds_{count,sum,bucket}.
            .AddMeter("Microsoft.AspNetCore.Hosting")
            .AddView("http.server.request.duration", new MetricStreamConfiguration { Name = "milvus.http.server.request.duration" })
            .AddView("http.server.active_requests", new MetricStreamConfiguration { Name = "milvus.http.server.active_requests" })
            .AddPrometheusExporter());
        return services;
    }
}
