using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Milvus.Domain.Params;

/// <summary>
/// Turns a YAML document into flat, dotted, lower-case key-value pairs, as the parameter table expects:
/// <c>etcd: { port: 2379 }</c> becomes <c>"etcd.port" = "2379"</c>. A sequence of scalars becomes one comma-joined
/// value; a sequence that holds mappings is flattened with its indices (<c>a.0.b</c>).
/// </summary>
public static class YamlFlattener
{
    /// <summary>Flattens every document of <paramref name="reader"/>. Later documents override earlier ones.</summary>
    /// <exception cref="ParamException">The YAML is malformed; the message names the source and the position.</exception>
    public static IReadOnlyDictionary<string, string> Flatten(TextReader reader, string sourceName = "yaml")
    {
        ArgumentNullException.ThrowIfNull(reader);
        var stream = new YamlStream();
        try
        {
            stream.Load(reader);
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw new ParamException($"Cannot parse {sourceName} at line {ex.Start.Line}, column {ex.Start.Column}: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // YamlDotNet's scanner reports some malformed input this way instead of with a YamlException.
            throw new ParamException($"Cannot parse {sourceName}: the YAML is malformed ({ex.Message})", ex);
        }

        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var document in stream.Documents)
        {
            Visit(document.RootNode, prefix: "", result);
        }
        return result;
    }

    /// <summary>Flattens a YAML file.</summary>
    public static IReadOnlyDictionary<string, string> FlattenFile(string path)
    {
        using var reader = File.OpenText(path);
        return Flatten(reader, path);
    }

    private static void Visit(YamlNode node, string prefix, IDictionary<string, string> result)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (keyNode, valueNode) in mapping.Children)
                {
                    var name = keyNode is YamlScalarNode scalarKey ? scalarKey.Value ?? "" : keyNode.ToString();
                    var key = Join(prefix, name.ToLowerInvariant());
                    Visit(valueNode, key, result);
                }
                break;
            case YamlSequenceNode sequence when sequence.Children.All(c => c is YamlScalarNode):
                if (prefix.Length > 0)
                {
                    result[prefix] = string.Join(',', sequence.Children.Cast<YamlScalarNode>().Select(s => s.Value ?? ""));
                }
                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    Visit(sequence.Children[i], Join(prefix, i.ToString(CultureInfo.InvariantCulture)), result);
                }
                break;
            case YamlScalarNode scalar when prefix.Length > 0:
                result[prefix] = IsNull(scalar) ? "" : scalar.Value ?? "";
                break;
        }
    }

    private static bool IsNull(YamlScalarNode scalar) =>
        scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && scalar.Value is null or "~" or "null" or "Null" or "NULL";

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}
