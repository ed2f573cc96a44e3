using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Milvus.Domain.Params;

/// <summary>
/// The global parameter table (seed A.3). It is a flat, sorted view of dotted lower-case keys over layered
/// configuration. Layers, lowest first: YAML files, appsettings.json, environment variables
/// (<c>Milvus__X</c>, then <c>MILVUS_CONF_X</c>), then run-time overrides. Keys are looked up case-insensitively.
/// </summary>
/// <remarks>
/// The table reads the same <see cref="ConfigurationManager"/> the host binds its options from, so a YAML value
/// and an option are one setting. Built with no manager, it owns one and layers only YAML, the environment and
/// overrides.
/// </remarks>
public sealed partial class BaseTable
{
    /// <summary>The default YAML file, relative to the base directory.</summary>
    public const string DefaultYamlFile = "configs/milvus.yaml";

    private static readonly string[] SecretMarkers = ["secret", "password", "token", "apikey"];

    private readonly ConfigurationManager _configuration;
    private readonly RuntimeOverridesSource _overrides;
    private readonly Lock _gate = new();
    private SortedDictionary<string, string>? _snapshot;

    /// <summary>A table over a manager of its own (for use outside a host).</summary>
    public BaseTable() : this(new ConfigurationManager())
    {
    }

    /// <summary>A table over the host's configuration manager.</summary>
    public BaseTable(ConfigurationManager configuration)
    {
        _configuration = configuration ?? throw new ArgumentNullException(nameof(configuration));
        _overrides = configuration.Sources.OfType<RuntimeOverridesSource>().FirstOrDefault() ?? AddOverrides(configuration);
        ((IConfiguration)_configuration).GetReloadToken().RegisterChangeCallback(_ => Invalidate(), null);
    }

    /// <summary>
    /// Adds the standard layers that are not there yet: the default YAML file (if present) under
    /// <paramref name="baseDirectory"/>, the <c>MILVUS_CONF_</c> variables, and the override layer on top.
    /// </summary>
    public void Init(string? baseDirectory = null)
    {
        var sources = _configuration.Sources;
        if (!sources.OfType<YamlParamsConfigurationSource>().Any())
        {
            var path = Path.Combine(baseDirectory ?? AppContext.BaseDirectory, DefaultYamlFile);
            sources.Insert(0, new YamlParamsConfigurationSource(path, optional: true));
        }
        if (!sources.OfType<MilvusConfEnvironmentSource>().Any())
        {
            sources.Insert(sources.IndexOf(_overrides), new MilvusConfEnvironmentSource());
        }
        Invalidate();
    }

    /// <summary>Adds a YAML file as the highest of the YAML layers, below every other layer.</summary>
    /// <exception cref="ParamException">The file is missing or malformed.</exception>
    public void LoadYaml(string fileName)
    {
        var sources = _configuration.Sources;
        var lastYaml = -1;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is YamlParamsConfigurationSource)
            {
                lastYaml = i;
            }
        }
        sources.Insert(lastYaml + 1, new YamlParamsConfigurationSource(Path.GetFullPath(fileName), optional: false));
        Invalidate();
    }

    /// <summary>Sets run-time overrides, the highest layer.</summary>
    public void LoadFromKVPair(IEnumerable<KeyValuePair<string, string>> kvPairs)
    {
        ArgumentNullException.ThrowIfNull(kvPairs);
        var pairs = kvPairs.ToList();
        foreach (var (key, _) in pairs)
        {
            ValidateKey(key);
        }
        _overrides.SetMany(pairs);
        Invalidate();
    }

    /// <summary>Makes <paramref name="overrides"/> the whole run-time layer (what it does not name falls back to the layers below).</summary>
    public void ReplaceOverrides(IReadOnlyDictionary<string, string> overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        foreach (var key in overrides.Keys)
        {
            ValidateKey(key);
        }
        _overrides.ReplaceAll(overrides.ToDictionary(p => Normalize(p.Key), p => p.Value, StringComparer.Ordinal));
        Invalidate();
    }

    /// <summary>Removes the run-time override of <paramref name="key"/>; whether there was one.</summary>
    public bool RemoveOverride(string key)
    {
        ValidateKey(key);
        var removed = _overrides.Remove(Normalize(key));
        Invalidate();
        return removed;
    }

    /// <summary>
    /// The layer that gives <paramref name="key"/> its value: the run-time override, a YAML file, appsettings, the
    /// environment, the command line; null when the key is not set.
    /// </summary>
    public string? LayerOf(string key)
    {
        ValidateKey(key);
        var path = ParamKeys.ToConfigurationKey(Normalize(key));
        foreach (var provider in ((IConfigurationRoot)_configuration).Providers.Reverse())
        {
            if (provider.TryGet(path, out var value) && value is not null || provider.TryGet(path + ":0", out _))
            {
                return _overrides.Owns(provider) ? "run-time override" : provider.ToString();
            }
        }
        return null;
    }

    /// <summary>The value of <paramref name="key"/>.</summary>
    /// <exception cref="ParamNotFoundException">The key is not set.</exception>
    public string Load(string key) =>
        TryLoad(key, out var value) ? value : throw new ParamNotFoundException(key);

    /// <summary>The value of <paramref name="key"/>, if set.</summary>
    public bool TryLoad(string key, out string value)
    {
        ValidateKey(key);
        return Snapshot().TryGetValue(Normalize(key), out value!);
    }

    /// <summary>The value of <paramref name="key"/>, or <paramref name="defaultValue"/> when it is not set.</summary>
    public string Load(string key, string defaultValue) => TryLoad(key, out var value) ? value : defaultValue;

    /// <summary>
    /// Up to <paramref name="limit"/> pairs with <paramref name="key"/> ≤ k &lt; <paramref name="endKey"/>, in key
    /// order. An empty <paramref name="endKey"/> means no upper bound; a limit ≤ 0 means no limit.
    /// </summary>
    public (IReadOnlyList<string> Keys, IReadOnlyList<string> Values) LoadRange(string key, string endKey, int limit)
    {
        var from = Normalize(key);
        var to = string.IsNullOrEmpty(endKey) ? null : Normalize(endKey);
        var keys = new List<string>();
        var values = new List<string>();
        foreach (var (k, v) in Snapshot())
        {
            if (string.CompareOrdinal(k, from) < 0)
            {
                continue;
            }
            if (to is not null && string.CompareOrdinal(k, to) >= 0)
            {
                break;
            }
            if (limit > 0 && keys.Count == limit)
            {
                break;
            }
            keys.Add(k);
            values.Add(v);
        }
        return (keys, values);
    }

    /// <summary>Every pair whose key starts with <paramref name="prefix"/>, in key order.</summary>
    public IReadOnlyDictionary<string, string> LoadWithPrefix(string prefix)
    {
        var normalized = Normalize(prefix ?? "");
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in Snapshot())
        {
            if (k.StartsWith(normalized, StringComparison.Ordinal))
            {
                result[k] = v;
            }
        }
        return result;
    }

    /// <summary>
    /// Like <see cref="LoadWithPrefix"/>, with secrets replaced by <c>***</c>: the whole value of a secret key, and
    /// inside any value a credential it embeds (<c>password=…</c> in a Redis configuration string, the user and
    /// password of a URL such as an etcd endpoint).
    /// </summary>
    public IReadOnlyDictionary<string, string> LoadWithPrefixMasked(string prefix) =>
        LoadWithPrefix(prefix).ToDictionary(p => p.Key, p => Mask(p.Key, p.Value), StringComparer.Ordinal);

    /// <summary>The value as it may be shown: <c>***</c> for a secret key, else with embedded credentials masked.</summary>
    public static string Mask(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return IsSecret(key) ? "***" : UrlCredentials().Replace(EmbeddedSecret().Replace(value, "$1=***"), "$1***@");
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?i)\b(password|pwd|secret|secretkey|token|apikey)=[^,;&\s]*")]
    private static partial System.Text.RegularExpressions.Regex EmbeddedSecret();

    [System.Text.RegularExpressions.GeneratedRegex(@"(://)[^/@\s]+@")]
    private static partial System.Text.RegularExpressions.Regex UrlCredentials();

    /// <summary>Whether a key holds a secret (a password, secret key, token or API key).</summary>
    public static bool IsSecret(string key)
    {
        var lower = key.ToLowerInvariant();
        return SecretMarkers.Any(m => lower.Contains(m, StringComparison.Ordinal));
    }

    public double ParseFloat(string key) => Parse(key, "a number", s =>
        (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v), v));

    public long ParseInt64(string key) => Parse(key, "a 64-bit integer", s =>
        (long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v), v));

    public int ParseInt32(string key) => Parse(key, "a 32-bit integer", s =>
        (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v), v));

    public int ParseInt(string key) => ParseInt32(key);

    public bool ParseBool(string key) => Parse(key, "true or false", s => s.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" or "on" => (true, true),
        "false" or "0" or "no" or "off" => (true, false),
        _ => (false, false),
    });

    /// <summary>The write node ids, from <c>nodeid.writenodeidlist</c> (comma-separated).</summary>
    public IReadOnlyList<long> WriteNodeIDList() => ParseIdList("nodeid.writenodeidlist");

    /// <summary>The data node ids, from <c>nodeid.datanodeidlist</c>.</summary>
    public IReadOnlyList<long> DataNodeIDList() => ParseIdList("nodeid.datanodeidlist");

    /// <summary>The proxy ids, from <c>nodeid.proxyidlist</c>.</summary>
    public IReadOnlyList<long> ProxyIDList() => ParseIdList("nodeid.proxyidlist");

    /// <summary>The query node ids, from <c>nodeid.querynodeidlist</c>.</summary>
    public IReadOnlyList<long> QueryNodeIDList() => ParseIdList("nodeid.querynodeidlist");

    private IReadOnlyList<long> ParseIdList(string key)
    {
        if (!TryLoad(key, out var raw) || string.IsNullOrWhiteSpace(raw))
        {
            return [];
        }
        var ids = new List<long>();
        foreach (var part in raw.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!long.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
            {
                throw new ParamException($"Parameter '{key}' has the value '{raw}', which is not a comma-separated list of node ids ('{part}' is not an integer).");
            }
            ids.Add(id);
        }
        return ids;
    }

    private T Parse<T>(string key, string expected, Func<string, (bool Ok, T Value)> parse)
    {
        var raw = Load(key).Trim();
        var (ok, value) = parse(raw);
        return ok ? value : throw new ParamException($"Parameter '{key}' has the value '{raw}', which is not {expected}.");
    }

    private SortedDictionary<string, string> Snapshot()
    {
        lock (_gate)
        {
            return _snapshot ??= Flatten(_configuration.GetSection(ParamKeys.Section));
        }
    }

    private void Invalidate()
    {
        lock (_gate)
        {
            _snapshot = null;
        }
    }

    /// <summary>
    /// Flattens a configuration section into dotted lower-case keys. Arrays of scalars (keys ending in an index)
    /// are joined with commas, as YAML sequences are.
    /// </summary>
    internal static SortedDictionary<string, string> Flatten(IConfigurationSection section)
    {
        var leaves = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (path, value) in section.AsEnumerable(makePathsRelative: true))
        {
            if (value is not null)
            {
                leaves[ParamKeys.ToDottedKey(path)] = value;
            }
        }

        var arrays = new Dictionary<string, SortedDictionary<int, string>>(StringComparer.Ordinal);
        var deepArrays = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in leaves.Keys)
        {
            var dot = key.LastIndexOf('.');
            if (dot > 0 && int.TryParse(key.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                var parent = key[..dot];
                if (!arrays.TryGetValue(parent, out var items))
                {
                    arrays[parent] = items = new SortedDictionary<int, string>();
                }
                items[index] = leaves[key];
            }
            else
            {
                // A key below an index (a.0.b) means the array holds objects: keep it flattened by index.
                var parts = key.Split('.');
                for (var i = 1; i < parts.Length - 1; i++)
                {
                    if (int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out _))
                    {
                        deepArrays.Add(string.Join('.', parts[..i]));
                    }
                }
            }
        }
        foreach (var (parent, items) in arrays)
        {
            if (deepArrays.Contains(parent) || leaves.ContainsKey(parent))
            {
                continue;
            }
            foreach (var index in items.Keys)
            {
                leaves.Remove(parent + "." + index.ToString(CultureInfo.InvariantCulture));
            }
            leaves[parent] = string.Join(',', items.Values);
        }
        return leaves;
    }

    private static string Normalize(string key) => key.Trim().ToLowerInvariant();

    private static void ValidateKey(string key)
    {
        if (string.IsNullOrWhiteSpace(key))
        {
            throw new ArgumentException("A parameter key must not be empty.", nameof(key));
        }
    }

    private static RuntimeOverridesSource AddOverrides(ConfigurationManager configuration)
    {
        var source = new RuntimeOverridesSource();
        configuration.Sources.Add(source);
        return source;
    }
}
