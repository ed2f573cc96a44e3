using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Milvus.Tests.Hardening;

/// <summary>One generated request: what it is, and what it breaks.</summary>
public sealed record FuzzRequest(string Kind, string Method, string Url, byte[]? Body, string? ContentType, (string Name, string Value)? Header = null)
{
    /// <summary>The request as a reader can replay it: method, URL, content type and (a prefix of) the body.</summary>
    public string Describe()
    {
        var body = Body is null ? "(no body)" : Preview(Body);
        var header = Header is { } h ? $" {h.Name}={Truncate(h.Value, 80)}" : "";
        return $"[{Kind}] {Method} {Truncate(Url, 300)}{header} content-type={ContentType ?? "(none)"} body={body}";
    }

    private static string Preview(byte[] body)
    {
        var text = new StringBuilder();
        foreach (var b in body.Take(300))
        {
            text.Append(b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"\\x{b:X2}");
        }
        return body.Length > 300 ? $"{text}... ({body.Length} bytes)" : text.ToString();
    }

    private static string Truncate(string value, int max) => value.Length <= max ? value : $"{value[..max]}... ({value.Length} chars)";
}

/// <summary>
/// Generates malformed requests for an <see cref="ApiOperation"/> from its schema, with a seeded
/// <see cref="Random"/> so that a run reproduces from its seed. Every request breaks the contract in one way:
/// wrong JSON types, missing or extra fields, out-of-range numbers, bad UTF-8, deep nesting, truncated or
/// non-JSON bodies, wrong content types, or bad path and query values. The body's base is the schema's zero
/// value (empty strings, zero numbers), which no route accepts as a whole, so a mutation that happens to fix
/// one field still leaves the request invalid. Path parameters name things that do not exist, except on PUT
/// (which creates by name) where they name things that exist, so even an accepted body changes nothing.
/// </summary>
public sealed class MalformedRequests(Random random, IReadOnlyDictionary<string, string> existingNames)
{
    private const string Raw = "__fuzz_raw_value__";

    private static readonly string[] BadNumbers =
    [
        "1e400", "-1e400", "-1", "-9223372036854775809", "9223372036854775808", "18446744073709551616",
        "99999999999999999999999999999999", "1.5", "NaN", "Infinity", "-Infinity", "-0", "0x10", "1e5", "01", "+1",
        "2147483648", "-2147483649", "4294967296", "1E-400", ".5", "1.", "--1",
    ];

    private static readonly byte[][] BadUtf8 =
    [
        [0xFF], [0xFE, 0xFF], [0xC3, 0x28], [0xA0, 0xA1], [0xE2, 0x28, 0xA1], [0xED, 0xA0, 0x80], [0xC0, 0xAF],
        [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xF0, 0x28, 0x8C, 0xBC], [0xF4, 0x90, 0x80, 0x80], [0xE0, 0x80, 0x80],
    ];

    private static readonly string[] NotJson =
    [
        "", " ", "null", "[]", "\"text\"", "0", "true", "{", "}", "{\"a\"}", "{,}", "[1,]", "{\"a\":1,}", "/* c */{}",
        "{'a':1}", "{\"a\":undefined}", "\0", "\uFEFF{}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\x41\"}", "{\"\":}", "<xml/>",
        "a=1&b=2", "{\"a\":1}{\"b\":2}", "[{]}", "{\"a\":\"unterminated}",
    ];

    private static readonly string[] ContentTypes =
    [
        "text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "application/json; charset=utf-16", "application/jsonx", "*/*", "application/json; charset=bogus",
        "application/octet-stream", "image/png", "json", ";;;", "application/json; charset=latin1", "application/json; charset=iso-8859-1",
    ];

    // A NUL in the path never reaches the gateway: the in-memory test server refuses to send it, and Kestrel
    // answers 400 at the protocol level (ProtocolFuzzTests covers that).
    private static readonly string[] BadPathValues =
    [
        "%2F", "a%2Fb", "%0A", "a%0D%0Ab", "%20", "a%20b", "%25", "a%25b", "%ZZ", "a%", "%C3%28",
        "%E0%80%80", "%ED%A0%80", "%FF%FE", "%F0%9F%98%80", "a%E2%80%AEb", "a%3Fb", "a%23b", "a%3Bb", "a:b", "a*b",
        "a$b", "%3Cscript%3E", "'%20OR%201=1", "%7Bchannel%7D", "a%5C..%5Cb", "%EF%BB%BF", "a%09b", "~a", "a@b",
        "a,b", "a+b", "a=b", "a!b", "%C2%A0",
    ];

    private static readonly string[] BadIntegerPathValues = ["-1", "1e400", "NaN", "99999999999999999999999", "1.5", "0x1", "abc"];

    private static readonly string[] BadQueryValues =
    [
        "abc", "", "-1", "-2147483649", "2147483648", "99999999999999999999", "NaN", "Infinity", "1.5", "1e3",
        "0x10", "%00", "%FF", "%C3%28", "%ZZ", "%", " 1", "1%20", "true", "[1]", "%7B%7D", "1&{0}=2", "-0", "+5",
    ];

    /// <summary>The next malformed request for the operation.</summary>
    public FuzzRequest Next(ApiOperation operation)
    {
        var kinds = new List<Func<ApiOperation, FuzzRequest>>();
        if (operation.JsonBody is not null)
        {
            kinds.AddRange([WrongType, BadNumber, MissingFields, ExtraField, BadUtf8Body, DeepNesting, Truncated,
                WrongContentType, NotJsonBody, DuplicateKey, HugeValue]);
        }
        if (operation.Parameters.Any(p => p.In == "path"))
        {
            kinds.Add(BadPath);
            kinds.Add(LongPath);
        }
        if (operation.Parameters.Any(p => p.In == "query"))
        {
            kinds.Add(BadQuery);
        }
        if (operation.Parameters.Any(p => p.In == "header"))
        {
            kinds.Add(BadHeader);
        }
        if (operation.JsonBody is null)
        {
            // A body where none belongs, and query strings nobody asked for.
            kinds.Add(UnexpectedBody);
            kinds.Add(UnknownQuery);
        }
        return kinds[random.Next(kinds.Count)](operation);
    }

    private FuzzRequest WrongType(ApiOperation operation)
    {
        var (body, slots) = BaseBody(operation.JsonBody!);
        if (slots.Count == 0)
        {
            var whole = WrongValues(operation.JsonBody!);
            return JsonRequest("wrong-type", operation, whole[random.Next(whole.Count)]);
        }
        var slot = Pick(slots);
        var candidates = WrongValues(slot.Schema);
        return JsonRequest("wrong-type", operation, slot.Replace(body, candidates[random.Next(candidates.Count)]));
    }

    private FuzzRequest BadNumber(ApiOperation operation)
    {
        var (body, slots) = BaseBody(operation.JsonBody!);
        var numeric = slots.Where(s => s.Schema.Type is "integer" or "number").ToList();
        var number = BadNumbers[random.Next(BadNumbers.Length)];
        var text = slots.Count == 0
            ? number
            : RawJson((numeric.Count > 0 && random.Next(4) > 0 ? Pick(numeric) : Pick(slots)).Replace(body, JsonValue.Create(Raw)), number);
        return new FuzzRequest("bad-number", operation.Method, Url(operation), Encoding.UTF8.GetBytes(text), "application/json");
    }

    private FuzzRequest MissingFields(ApiOperation operation)
    {
        var (body, slots) = BaseBody(operation.JsonBody!);
        var fields = slots.Where(s => s.Parent is JsonObject).ToList();
        if (fields.Count == 0 || random.Next(3) == 0)
        {
            return JsonRequest("missing-fields", operation, new JsonObject());
        }
        var slot = Pick(fields);
        ((JsonObject)slot.Parent!).Remove(slot.Name!);
        return JsonRequest("missing-field", operation, body);
    }

    private FuzzRequest ExtraField(ApiOperation operation)
    {
        var (body, slots) = BaseBody(operation.JsonBody!);
        var objects = slots.Where(s => s.Node is JsonObject).Select(s => (JsonObject)s.Node!).Prepend(body as JsonObject).OfType<JsonObject>().ToList();
        var target = objects.Count > 0 ? objects[random.Next(objects.Count)] : null;
        if (target is null)
        {
            return JsonRequest("extra-field", operation, new JsonObject { ["unexpected"] = Junk() });
        }
        target[$"unexpected{random.Next(1000)}"] = Junk();
        return JsonRequest("extra-field", operation, body);
    }

    private FuzzRequest BadUtf8Body(ApiOperation operation)
    {
        var (body, slots) = BaseBody(operation.JsonBody!);
        var bad = BadUtf8[random.Next(BadUtf8.Length)];
        var strings = slots.Where(s => s.Schema.Type == "string").ToList();
        byte[] bytes;
        if (strings.Count > 0)
        {
            var text = Pick(strings).Replace(body, JsonValue.Create(Raw))!.ToJsonString();
            var at = text.IndexOf(Raw, StringComparison.Ordinal);
            bytes = [.. Encoding.UTF8.GetBytes(text[..at]), .. bad, .. Encoding.UTF8.GetBytes(text[(at + Raw.Length)..])];
        }
        else
        {
            var text = Encoding.UTF8.GetBytes(OpenApiOperations.Render(body));
            var at = random.Next(text.Length + 1);
            bytes = [.. text[..at], .. bad, .. text[at..]];
        }
        return new FuzzRequest("bad-utf8", operation.Method, Url(operation), bytes, "application/json");
    }

    private FuzzRequest DeepNesting(ApiOperation operation)
    {
        const int levels = 10_000;
        var nested = random.Next(3) switch
        {
            0 => new string('[', levels) + new string(']', levels),
            1 => string.Concat(Enumerable.Repeat("{\"a\":", levels)) + "1" + new string('}', levels),
            _ => new string('[', levels),
        };
        var (body, slots) = BaseBody(operation.JsonBody!);
        var text = slots.Count > 0 && random.Next(2) == 0
            ? RawJson(Pick(slots).Replace(body, JsonValue.Create(Raw)), nested)
            : nested;
        return new FuzzRequest("deep-nesting", operation.Method, Url(operation), Encoding.UTF8.GetBytes(text), "application/json");
    }

    private FuzzRequest Truncated(ApiOperation operation)
    {
        var (body, _) = BaseBody(operation.JsonBody!);
        var text = OpenApiOperations.Render(body);
        var cut = text.Length > 1 ? text[..random.Next(1, text.Length)] : "";
        return new FuzzRequest("truncated", operation.Method, Url(operation), Encoding.UTF8.GetBytes(cut), "application/json");
    }

    private FuzzRequest WrongContentType(ApiOperation operation)
    {
        var (body, _) = BaseBody(operation.JsonBody!);
        var type = random.Next(ContentTypes.Length + 1) is var i && i < ContentTypes.Length ? ContentTypes[i] : null;
        return new FuzzRequest("content-type", operation.Method, Url(operation), Encoding.UTF8.GetBytes(OpenApiOperations.Render(body)), type);
    }

    private FuzzRequest NotJsonBody(ApiOperation operation)
    {
        byte[] bytes;
        if (random.Next(4) == 0)
        {
            bytes = new byte[random.Next(1, 64)];
            random.NextBytes(bytes);
        }
        else
        {
            bytes = Encoding.UTF8.GetBytes(NotJson[random.Next(NotJson.Length)]);
        }
        return new FuzzRequest("not-json", operation.Method, Url(operation), bytes, "application/json");
    }

    private FuzzRequest DuplicateKey(ApiOperation operation)
    {
        var (body, slots) = BaseBody(operation.JsonBody!);
        var fields = slots.Where(s => s.Parent is JsonObject && ReferenceEquals(s.Parent, body)).ToList();
        if (fields.Count == 0)
        {
            return NotJsonBody(operation);
        }
        var slot = Pick(fields);
        var text = OpenApiOperations.Render(body);
        var duplicate = $"\"{slot.Name}\":{OpenApiOperations.Render(Junk())},";
        return new FuzzRequest("duplicate-key", operation.Method, Url(operation), Encoding.UTF8.GetBytes("{" + duplicate + text[1..]), "application/json");
    }

    private FuzzRequest HugeValue(ApiOperation operation)
    {
        var (body, slots) = BaseBody(operation.JsonBody!);
        var arrays = slots.Where(s => s.Schema.Type == "array" && s.Schema.Items is not null).ToList();
        if (arrays.Count > 0 && random.Next(2) == 0)
        {
            // More elements than any count limit allows.
            var slot = Pick(arrays);
            var zero = Zero(slot.Schema.Items!, 0);
            var many = new JsonArray([.. Enumerable.Range(0, 20_001).Select(_ => zero?.DeepClone())]);
            return JsonRequest("huge-array", operation, slot.Replace(body, many));
        }
        var target = slots.Count > 0 ? Pick(slots) : null;
        var huge = JsonValue.Create(new string('x', random.Next(64 * 1024, 512 * 1024)));
        return JsonRequest("huge-string", operation, target is null ? huge : target.Replace(body, huge));
    }

    private FuzzRequest BadPath(ApiOperation operation)
    {
        var parameter = Pick(operation.Parameters.Where(p => p.In == "path").ToList());
        var value = parameter.Schema.Type is "integer" or "number" && random.Next(2) == 0
            ? BadIntegerPathValues[random.Next(BadIntegerPathValues.Length)]
            : BadPathValues[random.Next(BadPathValues.Length)];
        return new FuzzRequest($"bad-path:{parameter.Name}", operation.Method, Url(operation, parameter.Name, value), BodyFor(operation), BodyFor(operation) is null ? null : "application/json");
    }

    private FuzzRequest LongPath(ApiOperation operation)
    {
        var parameter = Pick(operation.Parameters.Where(p => p.In == "path").ToList());
        var value = new string((char)('a' + random.Next(26)), random.Next(2) == 0 ? 256 : random.Next(257, 6000));
        return new FuzzRequest($"long-path:{parameter.Name}", operation.Method, Url(operation, parameter.Name, value), BodyFor(operation), BodyFor(operation) is null ? null : "application/json");
    }

    private FuzzRequest BadQuery(ApiOperation operation)
    {
        var parameter = Pick(operation.Parameters.Where(p => p.In == "query").ToList());
        var value = random.Next(8) == 0
            ? new string('9', random.Next(100, 5000))
            : string.Format(CultureInfo.InvariantCulture, BadQueryValues[random.Next(BadQueryValues.Length)], parameter.Name);
        var url = Url(operation) + $"?{parameter.Name}={value}";
        if (random.Next(4) == 0)
        {
            url += $"&{parameter.Name}=1";
        }
        return new FuzzRequest($"bad-query:{parameter.Name}", operation.Method, url, BodyFor(operation), BodyFor(operation) is null ? null : "application/json");
    }

    /// <summary>Header values that break a header parameter's pattern (all of them sendable: no control characters).</summary>
    private static readonly string[] BadHeaderValues = ["", " ", "two words", "é", "key\u00A0", "\"quoted key\"", "日本"];

    /// <summary>A valid request but for one header parameter, which breaks its pattern: nothing may be stored.</summary>
    private FuzzRequest BadHeader(ApiOperation operation)
    {
        var parameter = Pick(operation.Parameters.Where(p => p.In == "header").ToList());
        var value = random.Next(4) == 0 ? new string('k', random.Next(256, 2000)) : BadHeaderValues[random.Next(BadHeaderValues.Length)];
        var body = BodyFor(operation);
        return new FuzzRequest($"bad-header:{parameter.Name}", operation.Method, Url(operation), body, body is null ? null : "application/json", (parameter.Name, value));
    }

    private FuzzRequest UnexpectedBody(ApiOperation operation)
    {
        var bytes = Encoding.UTF8.GetBytes(NotJson[random.Next(NotJson.Length)] + "{\"unexpected\":1}");
        return new FuzzRequest("unexpected-body", operation.Method, Url(operation), bytes, random.Next(2) == 0 ? "application/json" : "text/plain");
    }

    private FuzzRequest UnknownQuery(ApiOperation operation) =>
        new("unknown-query", operation.Method, Url(operation) + $"?unexpected={BadQueryValues[random.Next(BadQueryValues.Length)]}&%ZZ=%C3%28", null, null);

    private byte[]? BodyFor(ApiOperation operation) =>
        operation.JsonBody is null ? null : Encoding.UTF8.GetBytes(OpenApiOperations.Render(BaseBody(operation.JsonBody).Body));

    private FuzzRequest JsonRequest(string kind, ApiOperation operation, JsonNode? body) =>
        new(kind, operation.Method, Url(operation), Encoding.UTF8.GetBytes(OpenApiOperations.Render(body)), "application/json");

    /// <summary>The operation's URL with its path parameters filled in (one of them replaced when asked).</summary>
    private string Url(ApiOperation operation, string? replaced = null, string? value = null)
    {
        var url = operation.PathTemplate;
        foreach (var parameter in operation.Parameters.Where(p => p.In == "path"))
        {
            var filled = parameter.Name == replaced ? value! : BaselinePathValue(operation, parameter);
            url = url.Replace("{" + parameter.Name + "}", filled, StringComparison.Ordinal);
        }
        return url;
    }

    private string BaselinePathValue(ApiOperation operation, ApiParameter parameter)
    {
        if (parameter.Schema.Type is "integer" or "number")
        {
            return "987654321";
        }
        return operation.Method == "PUT" && existingNames.TryGetValue(parameter.Name, out var existing)
            ? existing
            : $"fuzz-absent-{parameter.Name}";
    }

    private static string RawJson(JsonNode? body, string raw) =>
        OpenApiOperations.Render(body).Replace($"\"{Raw}\"", raw, StringComparison.Ordinal);

    private T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private JsonNode? Junk() => random.Next(7) switch
    {
        0 => JsonValue.Create(random.Next()),
        1 => JsonValue.Create("junk"),
        2 => new JsonObject { ["x"] = 1 },
        3 => new JsonArray(1, "2"),
        4 => JsonValue.Create(true),
        5 => null,
        _ => JsonValue.Create(-1.5),
    };

    private static List<JsonNode?> WrongValues(ApiSchema schema)
    {
        var values = new List<JsonNode?>();
        if (!schema.Nullable)
        {
            values.Add(null);
        }
        if (schema.Type != "string")
        {
            values.AddRange([JsonValue.Create("text"), JsonValue.Create("")]);
        }
        if (schema.Type is not ("integer" or "number"))
        {
            values.AddRange([JsonValue.Create(123), JsonValue.Create(-1)]);
        }
        if (schema.Type == "integer")
        {
            values.Add(JsonValue.Create(1.5));
            values.Add(JsonValue.Create("1"));
        }
        if (schema.Type != "boolean")
        {
            values.Add(JsonValue.Create(true));
        }
        if (!schema.IsObject)
        {
            values.Add(new JsonObject { ["a"] = 1 });
        }
        if (schema.Type != "array")
        {
            values.Add(new JsonArray(1, 2));
        }
        if (schema.Enum.Count > 0 || schema.Type == "string")
        {
            values.Add(JsonValue.Create("NoSuchEnumValue"));
        }
        return values;
    }

    /// <summary>The schema's zero value, and every place in it a mutation can target.</summary>
    private static (JsonNode? Body, List<Slot> Slots) BaseBody(ApiSchema schema)
    {
        var body = Zero(schema, 0);
        var slots = new List<Slot>();
        Collect(body, schema, null, null, -1, slots, 0);
        return (body, slots);
    }

    private static JsonNode? Zero(ApiSchema schema, int depth)
    {
        if (depth > 6)
        {
            return null;
        }
        if (schema.Enum.Count > 0)
        {
            return schema.Enum[0]?.DeepClone();
        }
        if (schema.Properties.Count > 0)
        {
            var node = new JsonObject();
            foreach (var (name, property) in schema.Properties)
            {
                node[name] = Zero(property, depth + 1);
            }
            return node;
        }
        return schema.Type switch
        {
            "object" when schema.AdditionalProperties is { } value => new JsonObject { [""] = Zero(value, depth + 1) },
            "object" => new JsonObject(),
            "array" => schema.Items is { } items ? new JsonArray(Zero(items, depth + 1)) : [],
            "integer" or "number" => JsonValue.Create(0),
            "boolean" => JsonValue.Create(false),
            "string" => JsonValue.Create(""),
            _ => null,
        };
    }

    private static void Collect(JsonNode? node, ApiSchema schema, JsonNode? parent, string? name, int index, List<Slot> slots, int depth)
    {
        if (parent is not null)
        {
            slots.Add(new Slot(node, schema, parent, name, index));
        }
        if (depth > 6)
        {
            return;
        }
        if (node is JsonObject obj)
        {
            foreach (var (key, property) in schema.Properties)
            {
                Collect(obj[key], property, obj, key, -1, slots, depth + 1);
            }
            if (schema.AdditionalProperties is { } additional && obj.ContainsKey(""))
            {
                Collect(obj[""], additional, obj, "", -1, slots, depth + 1);
            }
        }
        else if (node is JsonArray array && schema.Items is { } items && array.Count > 0)
        {
            Collect(array[0], items, array, null, 0, slots, depth + 1);
        }
    }

    /// <summary>A place in a body: a property of an object or an element of an array.</summary>
    private sealed record Slot(JsonNode? Node, ApiSchema Schema, JsonNode Parent, string? Name, int Index)
    {
        /// <summary>Puts a value in this place and returns the (same) body.</summary>
        public JsonNode? Replace(JsonNode? body, JsonNode? value)
        {
            if (Parent is JsonObject obj)
            {
                obj[Name!] = value;
            }
            else
            {
                ((JsonArray)Parent)[Index] = value;
            }
            return body;
        }
    }
}
