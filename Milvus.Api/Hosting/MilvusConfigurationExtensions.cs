using Microsoft.Extensions.Configuration.Json;
using Milvus.Api.Infrastructure;
using Milvus.Api.Security;
using Milvus.Domain.Components;
using Milvus.Domain.Mq;
using Milvus.Domain.Params;
using Milvus.Domain.Kv;

namespace Milvus.Api.Hosting;

/// <summary>Configuration layers, the parameter table and the validated options.</summary>
public static class MilvusConfigurationExtensions
{
    /// <summary>
    /// Layers the configuration (YAML lowest, then appsettings.json, the environment, the command line,
    /// <c>MILVUS_CONF_*</c>, and run-time overrides on top), registers the <see cref="BaseTable"/>, and binds every
    /// options class with validation at start-up.
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
        // The cluster's run-time overrides, kept in the meta KV and followed by every gateway.
        builder.Services.AddSingleton<ParamOverrideStore>();
        builder.Services.AddHostedService<Workers.Params.ParamOverridesService>();

        builder.Services.AddValidatedOptions<MilvusOptions>(MilvusOptions.SectionName, o => !string.IsNullOrWhiteSpace(o.DataDir), "Milvus:DataDir must not be empty.");
        builder.Services.AddValidatedOptions<KvOptions>(KvOptions.SectionName, o => Enum.IsDefined(o.Backend), "Milvus:Kv:Backend must be rocksdb, memory, etcd or redis.");
        builder.Services.AddValidatedOptions<MqOptions>(MqOptions.SectionName, o => Enum.IsDefined(o.Backend), "Milvus:Mq:Backend must be rocksmq or redis.");
        builder.Services.AddValidatedOptions<ObjectStorageOptions>(ObjectStorageOptions.SectionName, o => Enum.IsDefined(o.Backend), "Milvus:ObjectStorage:Backend must be local or minio.");
        builder.Services.AddValidatedOptions<EtcdOptions>(EtcdOptions.SectionName, o => !string.IsNullOrWhiteSpace(o.Endpoints), "Milvus:Etcd:Endpoints must not be empty.");
        builder.Services.AddValidatedOptions<RedisOptions>(RedisOptions.SectionName, o => !string.IsNullOrWhiteSpace(o.Configuration), "Milvus:Redis:Configuration must not be empty.");
        builder.Services.AddValidatedOptions<MinioOptions>(MinioOptions.SectionName, o => !string.IsNullOrWhiteSpace(o.Endpoint) && !string.IsNullOrWhiteSpace(o.Bucket), "Milvus:Minio:Endpoint and Milvus:Minio:Bucket must not be empty.");
        builder.Services.AddValidatedOptions<ServiceSessionOptions>(ServiceSessionOptions.SectionName, o => o.TtlSeconds is >= 1 and <= 3600, "Milvus:Session:TtlSeconds must be between 1 and 3600.");
        builder.Services.AddValidatedOptions<TimeTickOptions>(TimeTickOptions.SectionName, o => o.IntervalMs is >= 1 and <= 60_000 && MqNames.IsValid(o.Channel), "Milvus:TimeTick:IntervalMs must be between 1 and 60000, and Milvus:TimeTick:Channel a valid channel name.");
        builder.Services.AddValidatedOptions<StatisticsOptions>(StatisticsOptions.SectionName, o => o.IntervalMs is >= 0 and <= 3_600_000 && MqNames.IsValid(o.Channel), "Milvus:Statistics:IntervalMs must be between 0 (off) and 3600000, and Milvus:Statistics:Channel a valid channel name.");
        builder.Services.AddValidatedOptions<AuthOptions>(AuthOptions.SectionName, o => o.ApiKeys.All(k => !string.IsNullOrWhiteSpace(k)), "Milvus:Auth:ApiKeys must not hold empty keys.");
        builder.Services.AddValidatedOptions<LimitsOptions>(LimitsOptions.SectionName, o => o.MaxRequestBytes > 0 && o.MaxMessageBytes > 0 && o.MaxMessageBytes <= o.MaxRequestBytes, "Milvus:Limits:MaxRequestBytes and MaxMessageBytes must be positive, with MaxMessageBytes ≤ MaxRequestBytes.");
        builder.Services.AddValidatedOptions<RateLimitOptions>(RateLimitOptions.SectionName, o => o.PermitsPerSecond >= 0 && o.Burst >= 0, "Milvus:RateLimit:PermitsPerSecond and Burst must not be negative.");
        builder.Services.AddMilvusOptions<JobsOptions>(JobsOptions.SectionName, o => o.Validate());
        return builder;
    }

    private static void AddValidatedOptions<T>(this IServiceCollection services, string section, Func<T, bool> validation, string failure)
        where T : class =>
        services.AddMilvusOptions<T>(section, o => validation(o) ? null : failure);

    private static JsonConfigurationSource WithResolvedProvider(this JsonConfigurationSource source)
    {
        source.ResolveFileProvider();
        return source;
    }
}
