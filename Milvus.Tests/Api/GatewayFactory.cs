using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Api;

/// <summary>
/// Hosts the gateway in memory with its data under a throwaway directory. Settings passed to the constructor
/// override the configuration, as the environment would.
/// </summary>
public sealed class GatewayFactory : WebApplicationFactory<Program>
{
    private readonly TempDirectory _dataDir = new();
    private readonly Dictionary<string, string?> _settings;

    public GatewayFactory() : this(new Dictionary<string, string?>())
    {
    }

    public GatewayFactory(IDictionary<string, string?> settings)
    {
        _settings = new Dictionary<string, string?>(settings, StringComparer.OrdinalIgnoreCase);
        _settings.TryAdd("Milvus:DataDir", _dataDir.Path);
    }

    /// <summary>The data directory this gateway persists to.</summary>
    public string DataDir => _settings["Milvus:DataDir"]!;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(_settings));
    }

    /// <summary>Starts the host so that disposing this factory stops it once and returns when it is gone.</summary>
    protected override IHost CreateHost(IHostBuilder builder) => SingleShutdownHost.Create(builder, base.CreateHost);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _dataDir.Dispose();
        }
    }
}
