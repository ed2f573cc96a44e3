using System.Text.Json.Serialization;
using FluentValidation;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Milvus.Api.Endpoints;
using Milvus.Api.Hosting;
using Milvus.Api.Infrastructure;
using Milvus.Api.Security;
using Milvus.Workers.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddMilvusConfiguration();

// Bind to loopback unless --urls, ASPNETCORE_URLS or the Urls setting says otherwise.
if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
{
    builder.WebHost.UseUrls(GatewayDefaults.Url);
}
builder.Services.AddOptions<KestrelServerOptions>()
    .Configure<IOptions<LimitsOptions>>((kestrel, limits) => kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBytes);

builder.Services.ConfigureHttpJsonOptions(options =>
{
    options.SerializerOptions.Converters.Add(new StrictStringEnumConverter());
    options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
    // A key given twice is ambiguous: which one did the client mean? A 400, not the last one silently.
    options.SerializerOptions.AllowDuplicateProperties = false;
    // 64-bit ids and timestamps as strings for clients that ask (Accept-Type-Allow-Int64: false); either form as input.
    Int64Json.AddConverters(options.SerializerOptions);
});
builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
{
    context.ProblemDetails.Extensions["requestId"] = context.HttpContext.TraceIdentifier;
    context.ProblemDetails.Instance ??= context.HttpContext.Request.Path;
    // Every problem says what went wrong in detail: a validation problem sums up its field errors there.
    context.ProblemDetails.Detail ??= context.ProblemDetails is HttpValidationProblemDetails { Errors.Count: > 0 } validation
        ? string.Join(" ", validation.Errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))
        : context.ProblemDetails.Title ?? $"The request failed with status {context.ProblemDetails.Status}.";
});
builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
// Validators hold no state: one of each serves every request, rather than one built (rules and all) per request.
builder.Services.AddValidatorsFromAssemblyContaining<Program>(ServiceLifetime.Singleton, includeInternalTypes: true);

builder.Services.AddEndpointsApiExplorer();
builder.Services.AddMilvusSwagger();
builder.Services.AddMilvusSecurity();
builder.Services.AddMilvusHardening();
builder.Services.AddMilvusTelemetry();
builder.Services.AddMilvusJobs();

// Everything the gateway runs; each subsystem registers itself, in start order.
builder.Services.AddMilvusWorkers();
builder.Services.AddListeningAddressAsSessionAddress();
builder.Services.AddMilvusForwarding();
// Every check answers within 1.5 s, so readiness answers within 2 s whatever a backend does.
builder.Services.AddSingleton<IPostConfigureOptions<HealthCheckServiceOptions>, BoundedHealthChecks>();

WebApplication app;
try
{
    app = builder.Build();
    // A gateway process (on Kestrel) binds and checks every setting here, so that a bad one stops the start with one
    // line rather than a stack trace. A test host (WebApplicationFactory's TestServer) starts the host itself and
    // sees the same exception there.
    if (app.Services.GetRequiredService<IServer>().GetType().Namespace?.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal) == true)
    {
        app.Services.GetService<IStartupValidator>()?.Validate();
    }
}
catch (Exception ex) when (StartupFailure.Describe(ex) is { } reason)
{
    Console.Error.WriteLine($"The gateway cannot start: {reason}");
    return 1;
}

app.UseInt64Json();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseMiddleware<RequestSizeLimitMiddleware>();
app.UseMilvusSecurity();
app.UseDashboardLogin(JobsExtensions.DashboardPath);

app.UseSwagger();
app.UseSwaggerUI(options => options.SwaggerEndpoint("/swagger/v1/swagger.json", "Milvus components gateway v1"));

app.MapHealthApi();
app.MapPrometheusScrapingEndpoint("/metrics");
app.MapMilvusJobsDashboard();
app.MapComponentsApi();
app.MapParamsApi();

// Subsystem endpoints map here, one line each.
app.MapTsoApi();
app.MapMessagesApi();
app.MapChannelsApi();
app.MapSessionsApi();
app.MapMsgStreamApi();
app.MapSegmentsApi();

app.WarnWhenExposedWithoutKeys();
app.Run();
return 0;

/// <summary>The gateway's entry point; public so that tests can host it.</summary>
public partial class Program;
