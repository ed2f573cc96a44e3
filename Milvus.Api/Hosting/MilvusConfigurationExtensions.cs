using Microsoft.Extensions.Configuration.Json;
using Milvus.Domain.Params;

namespace Milvus.Api.Hosting;

/// <summary>Configuration layers and the parameter table.</summary>
public static class MilvusConfigurationExtensions
{
    /// <summary>
    /// Layers the configuration (YAML lowest, then appsettings.json, the environment, the command line,
    /// <c>MILVUS_CONF_*</c>, and run-time overrides on top) and registers the <see cref="BaseTable"/> over it.
    /// Each subsystem binds and validates its own settings.
    /// </summary>
    public static WebApplicationBuilder AddMilvusConfiguration(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;

        // The defaults ship beside the binary; a content root elsewhere (dotnet run, a test host) still sees them.
        var shipped = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        var firstJson = configuration.Sources.ToList().FindIndex(s => s is JsonConfigurationSource);
        configuration.Sources.Insert(firstJson < 0 ? 0 : firstJson, new JsonConfigurationSource
        {
            Path = shipped,
            Optional = true,
            ReloadOnChange = false,
            FileProvider = null,
        }.WithResolvedProvider());

        var yamlFiles = (configuration["Milvus:ConfigFiles"] is { Length: > 0 } list
                ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(f => (Path: f, Optional: false))
                : [(Path: Path.Combine(AppContext.BaseDirectory, BaseTable.DefaultYamlFile), Optional: true)])
            .Reverse();
        foreach (var (path, optional) in yamlFiles)
        {
            configuration.Sources.Insert(0, new YamlParamsConfigurationSource(Path.GetFullPath(path), optional));
        }
        ((IConfigurationBuilder)configuration).Add(new MilvusConfEnvironmentSource());

        var table = new BaseTable(configuration);
        builder.Services.AddSingleton(table);
        return builder;
    }

    private static JsonConfigurationSource WithResolvedProvider(this JsonConfigurationSource source)
    {
        source.ResolveFileProvider();
        return source;
    }
}
