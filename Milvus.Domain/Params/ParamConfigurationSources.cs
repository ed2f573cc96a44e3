using System.Collections;
using Microsoft.Extensions.Configuration;

namespace Milvus.Domain.Params;

/// <summary>
/// A YAML file as a configuration layer. Its dotted keys are placed under the <c>Milvus</c> section, so
/// <c>etcd.endpoints</c> in YAML and <c>Milvus:Etcd:Endpoints</c> in appsettings.json are one key, and the
/// higher layer wins.
/// </summary>
public sealed class YamlParamsConfigurationSource(string path, bool optional) : IConfigurationSource
{
    /// <summary>The YAML file.</summary>
    public string Path { get; } = path;

    /// <summary>Whether a missing file is allowed (a present but malformed file is always an error).</summary>
    public bool Optional { get; } = optional;

    public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(this);

    private sealed class Provider(YamlParamsConfigurationSource source) : ConfigurationProvider
    {
        public override string ToString() => $"yaml {source.Path}";

        public override void Load()
        {
            if (!File.Exists(source.Path))
            {
                if (source.Optional)
                {
                    Data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                    return;
                }
                throw new ParamException($"The parameter file '{source.Path}' does not exist.");
            }
            Data = ParamKeys.ToConfiguration(YamlFlattener.FlattenFile(source.Path));
        }
    }
}

/// <summary>
/// Milvus-style environment overrides: <c>MILVUS_CONF_ETCD_ENDPOINTS=...</c> sets <c>etcd.endpoints</c>. Each
/// underscore after the prefix separates two levels, so a key whose own name holds an underscore is set with
/// ASP.NET's form instead (<c>Milvus__Section__Key</c>).
/// </summary>
public sealed class MilvusConfEnvironmentSource(IDictionary? variables = null) : IConfigurationSource
{
    /// <summary>The prefix of the variables this layer reads.</summary>
    public const string Prefix = "MILVUS_CONF_";

    public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(variables);

    private sealed class Provider(IDictionary? variables) : ConfigurationProvider
    {
        public override string ToString() => "environment MILVUS_CONF_*";

        public override void Load()
        {
            var env = variables ?? Environment.GetEnvironmentVariables();
            var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (DictionaryEntry entry in env)
            {
                if (entry.Key is string name && name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) && name.Length > Prefix.Length)
                {
                    var dotted = name[Prefix.Length..].ToLowerInvariant().Replace('_', '.');
                    pairs[dotted] = entry.Value?.ToString() ?? "";
                }
            }
            Data = ParamKeys.ToConfiguration(pairs);
        }
    }
}

/// <summary>The highest layer: values set at run time through <see cref="BaseTable.LoadFromKVPair"/>.</summary>
public sealed class RuntimeOverridesSource : IConfigurationSource
{
    private readonly Provider _provider = new();

    public IConfigurationProvider Build(IConfigurationBuilder builder) => _provider;

    /// <summary>Milvus's <c>log.level</c>, which also sets the default level of the host's logging (<c>Logging:LogLevel:Default</c>).</summary>
    public const string LogLevelKey = "log.level";

    private const string HostLogLevel = "Logging:LogLevel:Default";

    internal void SetMany(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        foreach (var (key, value) in pairs)
        {
            _provider.Set(ParamKeys.ToConfigurationKey(key), value);
            if (key == LogLevelKey)
            {
                _provider.Set(HostLogLevel, HostLevel(value));
            }
        }
        _provider.Reload();
    }

    /// <summary>Makes <paramref name="overrides"/> the whole layer: what it does not name is no longer overridden.</summary>
    internal void ReplaceAll(IReadOnlyDictionary<string, string> overrides)
    {
        var data = ParamKeys.ToConfiguration(overrides);
        if (overrides.TryGetValue(LogLevelKey, out var level))
        {
            data[HostLogLevel] = HostLevel(level);
        }
        _provider.Replace(data);
        _provider.Reload();
    }

    /// <summary>Removes the override of <paramref name="key"/>; whether there was one.</summary>
    internal bool Remove(string key)
    {
        var removed = _provider.Remove(ParamKeys.ToConfigurationKey(key));
        if (key == LogLevelKey)
        {
            _provider.Remove(HostLogLevel);
        }
        _provider.Reload();
        return removed;
    }

    /// <summary>The host's name of one of Milvus's log levels (debug, info, warn, error).</summary>
    public static string HostLevel(string milvusLevel) => milvusLevel.Trim().ToLowerInvariant() switch
    {
        "debug" => "Debug",
        "info" => "Information",
        "warn" => "Warning",
        "error" => "Error",
        var other => other,
    };

    /// <summary>Whether <paramref name="provider"/> is this layer's.</summary>
    internal bool Owns(IConfigurationProvider provider) => ReferenceEquals(provider, _provider);

    private sealed class Provider : ConfigurationProvider
    {
        public void Reload() => OnReload();

        public void Replace(Dictionary<string, string?> data) => Data = data;

        public bool Remove(string key) => Data.Remove(key);

        public override string ToString() => "run-time override";
    }
}

/// <summary>Conversions between dotted parameter keys and configuration paths.</summary>
public static class ParamKeys
{
    /// <summary>The configuration section that holds every parameter.</summary>
    public const string Section = "Milvus";

    /// <summary><c>etcd.endpoints</c> becomes <c>Milvus:etcd:endpoints</c>.</summary>
    public static string ToConfigurationKey(string dottedKey) =>
        Section + ConfigurationPath.KeyDelimiter + dottedKey.Trim().Replace('.', ':');

    /// <summary>A relative configuration path (<c>Etcd:Endpoints</c>) becomes a dotted key (<c>etcd.endpoints</c>).</summary>
    public static string ToDottedKey(string configurationPath) =>
        configurationPath.Replace(':', '.').ToLowerInvariant();

    internal static Dictionary<string, string?> ToConfiguration(IEnumerable<KeyValuePair<string, string>> dotted)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in dotted)
        {
            data[ToConfigurationKey(key)] = value;
        }
        return data;
    }
}
