using System.Text.Json;
using System.Text.Json.Nodes;

namespace Milvus.Tests.Hardening;

/// <summary>A schema from the OpenAPI document, with <c>$ref</c>s resolved.</summary>
public sealed record ApiSchema(string? Type, string? Format, bool Nullable, IReadOnlyList<JsonNode?> Enum,
    IReadOnlyDictionary<string, ApiSchema> Properties, ApiSchema? Items, ApiSchema? AdditionalProperties)
{
    /// <summary>Whether this is a JSON object with named properties or a map.</summary>
    public bool IsObject => Type == "object" || Properties.Count > 0;
}

/// <summary>One path or query parameter of an operation.</summary>
public sealed record ApiParameter(string Name, string In, bool Required, ApiSchema Schema);

/// <summary>One operation of the OpenAPI document: a method on a path template.</summary>
public sealed record ApiOperation(string Method, string PathTemplate, IReadOnlyList<ApiParameter> Parameters, ApiSchema? JsonBody)
{
    public override string ToString() => $"{Method} {PathTemplate}";
}

/// <summary>Reads the operations of an OpenAPI 3 document (as Swashbuckle writes it) for the fuzz suite.</summary>
public static class OpenApiOperations
{
    /// <summary>Every operation in the document, in document order.</summary>
    public static IReadOnlyList<ApiOperation> Read(string document)
    {
        var root = JsonNode.Parse(document)!.AsObject();
        var schemas = root["components"]?["schemas"]?.AsObject();
        var operations = new List<ApiOperation>();
        foreach (var (path, item) in root["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                if (method is "parameters" or "summary" or "description" or "servers")
                {
                    continue;
                }
                var parameters = (operation!["parameters"]?.AsArray() ?? [])
                    .Select(p => new ApiParameter(
                        p!["name"]!.GetValue<string>(),
                        p["in"]!.GetValue<string>(),
                        p["required"]?.GetValue<bool>() ?? false,
                        Resolve(p["schema"], schemas, 0)))
                    .ToList();
                var json = operation["requestBody"]?["content"]?.AsObject()
                    .FirstOrDefault(c => c.Key.Contains("json", StringComparison.OrdinalIgnoreCase)).Value;
                var body = json?["schema"] is { } schema ? Resolve(schema, schemas, 0) : null;
                operations.Add(new ApiOperation(method.ToUpperInvariant(), path, parameters, body));
            }
        }
        return operations;
    }

    private static ApiSchema Resolve(JsonNode? node, JsonObject? schemas, int depth)
    {
        if (node is not JsonObject schema || depth > 16)
        {
            return new ApiSchema(null, null, true, [], new Dictionary<string, ApiSchema>(), null, null);
        }
        if (schema["$ref"]?.GetValue<string>() is { } reference)
        {
            var name = reference[(reference.LastIndexOf('/') + 1)..];
            return Resolve(schemas?[name], schemas, depth + 1);
        }
        // OpenAPI 3.1 writes "type": ["string", "null"]; 3.0 writes "nullable": true.
        string? type = null;
        var nullable = schema["nullable"]?.GetValue<bool>() ?? false;
        switch (schema["type"])
        {
            case JsonValue value:
                type = value.GetValue<string>();
                break;
            case JsonArray types:
                var names = types.Select(t => t!.GetValue<string>()).ToList();
                nullable |= names.Remove("null");
                type = names.FirstOrDefault();
                break;
        }
        var properties = (schema["properties"]?.AsObject() ?? [])
            .ToDictionary(p => p.Key, p => Resolve(p.Value, schemas, depth + 1), StringComparer.Ordinal);
        var enumValues = schema["enum"]?.AsArray().Select(e => e?.DeepClone()).ToList() ?? [];
        var items = schema["items"] is { } itemNode ? Resolve(itemNode, schemas, depth + 1) : null;
        var additional = schema["additionalProperties"] is JsonObject additionalNode && additionalNode.Count > 0
            ? Resolve(additionalNode, schemas, depth + 1)
            : null;
        return new ApiSchema(type, schema["format"]?.GetValue<string>(), nullable, enumValues, properties, items, additional);
    }

    /// <summary>A compact JSON rendering of a node, for failure messages.</summary>
    public static string Render(JsonNode? node) => node?.ToJsonString(new JsonSerializerOptions { WriteIndented = false }) ?? "null";
}
