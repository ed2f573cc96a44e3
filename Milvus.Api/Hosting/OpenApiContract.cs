using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;
using Milvus.Api.Endpoints;
using Milvus.Api.Infrastructure;
using Milvus.Domain.Channels;
using Milvus.Domain.Mq;
using Milvus.Domain.Tso;
using Milvus.Workers.Tso.Http;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Milvus.Api.Hosting;

/// <summary>
/// Makes the gateway's own schemas say what the wire does: no property is nullable (a missing input and a null one
/// mean the same, and answers never send null); every property of an answer is required unless it is left out when
/// empty; the required inputs and their limits (counts, name patterns, array sizes) are those the validators enforce.
/// </summary>
internal sealed class ContractSchemaFilter : ISchemaFilter
{
    /// <summary>The request bodies and the types inside them: only what this table names is required, with its limits.</summary>
    private static readonly Dictionary<Type, Action<OpenApiSchema>> Inputs = new()
    {
        [typeof(StreamProduceRequest)] = s =>
        {
            Require(s, "channels", "msgs");
            ChannelList(s, "channels");
            Items(s, "msgs", 1, MsgStreamApi.MaxMsgs);
        },
        [typeof(StreamConsumeRequest)] = s =>
        {
            Require(s, "channels", "subName");
            ChannelList(s, "channels");
            Name(s, "subName");
            Enum(s, "position", "earliest", "latest");
            Range(s, "waitMs", 0, null);
        },
        [typeof(StreamSeekRequest)] = s =>
        {
            Require(s, "subName", "channels", "positions");
            ChannelList(s, "channels");
            Name(s, "subName");
            Items(s, "positions", 1, MsgStreamApi.MaxChannels);
        },
        [typeof(StreamPosition)] = s =>
        {
            Require(s, "channelName", "msgId");
            Name(s, "channelName");
            Range(s, "msgId", 1, null);
        },
        [typeof(StreamMsg)] = s => Require(s, "msgType"),
        [typeof(InsertMsgBody)] = s => { Require(s, "rows"); Items(s, "rows", 1, null); },
        [typeof(DeleteMsgBody)] = s => { Require(s, "rows"); Items(s, "rows", 1, null); },
        [typeof(InsertMsgRow)] = _ => { },
        [typeof(DeleteMsgRow)] = _ => { },
        [typeof(TimeTickMsgBody)] = _ => { },
        [typeof(FlushMsgBody)] = _ => { },
        [typeof(CollectionMsgBody)] = _ => { },
        [typeof(PartitionMsgBody)] = _ => { },
        [typeof(TimestampRequest)] = s => { Require(s, "count"); Range(s, "count", 1, HybridTimestamp.LogicalRange); },
        [typeof(IdRequest)] = s => { Require(s, "count"); Range(s, "count", 1, GlobalIdAllocator.MaxCount); },
        [typeof(CreateChannelsRequest)] = s => { Require(s, "ownerDescription", "numChannels"); Range(s, "numChannels", 1, ChannelService.MaxChannels); },
        [typeof(PutChannelRequest)] = _ => { },
        [typeof(OwnerDescriptionBody)] = s =>
        {
            Require(s, "role");
            Length(s, "role", 1, OwnerDescriptionBody.MaxLength);
            Length(s, "address", 0, OwnerDescriptionBody.MaxLength);
            Length(s, "descriptionText", 0, OwnerDescriptionBody.MaxLength);
        },
        [typeof(ChannelNamesRequest)] = s =>
        {
            Require(s, "channelNames");
            Items(s, "channelNames", 1, ChannelService.MaxChannels);
            ItemPattern(s, "channelNames");
        },
        [typeof(ProduceRequest)] = s => { Require(s, "messages"); Items(s, "messages", 1, MessagesApi.MaxBatch); },
        [typeof(ProduceMessage)] = _ => { },
        [typeof(CreateGroupRequest)] = s => { Require(s, "groupName"); Name(s, "groupName"); },
        [typeof(SeekRequest)] = s => Range(s, "msgId", 0, null),
        [typeof(SetParamsRequest)] = s => { Require(s, "params"); Props(s, "params", 1, SetParamsRequestValidator.MaxParams); },
    };

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema { Properties.Count: > 0 } concrete || context.Type.Namespace?.StartsWith("Milvus.", StringComparison.Ordinal) != true)
        {
            return;
        }
        foreach (var property in concrete.Properties.Values.OfType<OpenApiSchema>())
        {
            property.Type &= ~JsonSchemaType.Null;
        }
        if (Inputs.TryGetValue(context.Type, out var describe))
        {
            describe(concrete);
            return;
        }
        // An answer: every property is sent, except those left out when empty.
        var omitted = context.Type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is { Condition: JsonIgnoreCondition.WhenWritingNull or JsonIgnoreCondition.WhenWritingDefault })
            .Select(p => JsonName(p.Name))
            .ToHashSet(StringComparer.Ordinal);
        Require(concrete, [.. concrete.Properties.Keys.Where(k => !omitted.Contains(k))]);
    }

    private static string JsonName(string name) => string.Concat(char.ToLowerInvariant(name[0]).ToString(), name.AsSpan(1));

    private static void Require(OpenApiSchema schema, params string[] names)
    {
        schema.Required ??= new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            schema.Required.Add(name);
        }
    }

    private static OpenApiSchema? Property(OpenApiSchema schema, string name) =>
        schema.Properties!.TryGetValue(name, out var property) ? property as OpenApiSchema : null;

    private static void Items(OpenApiSchema schema, string name, int min, int? max)
    {
        if (Property(schema, name) is { } property)
        {
            property.MinItems = min;
            property.MaxItems = max;
        }
    }

    private static void Props(OpenApiSchema schema, string name, int min, int max)
    {
        if (Property(schema, name) is { } property)
        {
            property.MinProperties = min;
            property.MaxProperties = max;
        }
    }

    private static void Range(OpenApiSchema schema, string name, long min, long? max)
    {
        if (Property(schema, name) is { } property)
        {
            property.Minimum = min.ToString(System.Globalization.CultureInfo.InvariantCulture);
            property.Maximum = max?.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private static void Length(OpenApiSchema schema, string name, int min, int max)
    {
        if (Property(schema, name) is { } property)
        {
            property.MinLength = min;
            property.MaxLength = max;
        }
    }

    private static void Name(OpenApiSchema schema, string name)
    {
        if (Property(schema, name) is { } property)
        {
            property.Pattern = MqNames.Pattern;
        }
    }

    private static void ItemPattern(OpenApiSchema schema, string name)
    {
        if (Property(schema, name)?.Items is OpenApiSchema items)
        {
            items.Pattern = MqNames.Pattern;
        }
    }

    private static void ChannelList(OpenApiSchema schema, string name)
    {
        Items(schema, name, 1, MsgStreamApi.MaxChannels);
        ItemPattern(schema, name);
        if (Property(schema, name) is { } property)
        {
            property.UniqueItems = true;
        }
    }

    private static void Enum(OpenApiSchema schema, string name, params string[] values)
    {
        if (Property(schema, name) is { } property)
        {
            property.Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v))];
        }
    }
}

/// <summary>
/// Completes each operation: the endpoint's <c>WithSummary</c> text as its description (the XML summary stays the
/// short summary), every status the pipeline can answer with a problem+json body (401 with API keys, 413 and 415 for
/// a body, 429 from the rate limiter, 503 from a backend, 507 when a disk is full), the name pattern of the
/// channel, group and subscription parameters, an example for every parameter, and the event format of the
/// Server-Sent Events routes.
/// </summary>
internal sealed class ContractOperationFilter : IOperationFilter
{
    /// <summary>The example of each path or query parameter, by name: the names that the body examples use too.</summary>
    private static readonly Dictionary<string, JsonNode> ParameterExamples = new(StringComparer.Ordinal)
    {
        ["channel"] = "demo",
        ["group"] = "demo-group",
        ["subName"] = "demo-sub",
        ["channels"] = "demo",
        ["segmentId"] = 1,
        ["n"] = 10,
        ["waitMs"] = 0,
        ["prefix"] = "",
        ["position"] = "earliest",
        ["timeTickAligned"] = true,
        ["key"] = "timetick.intervalms",
    };

    /// <summary>The event format of each Server-Sent Events route, by operation id.</summary>
    private static readonly Dictionary<string, string> EventFormats = new(StringComparer.Ordinal)
    {
        ["SubscribeMsgStream"] = "A text/event-stream. Each ready pack is one event: `event: msgpack`, then `data:` and the pack as one line of JSON (the StreamPackResponse schema). The stream stays open until the client leaves.",
        ["WatchSessions"] = "A text/event-stream. Each change is one event: `event:` the change's eventType, then `data:` and one line of JSON (the SessionEvent schema). The stream stays open until the client leaves.",
    };

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var metadata = context.ApiDescription.ActionDescriptor.EndpointMetadata;
        if (metadata.OfType<Microsoft.AspNetCore.Http.Metadata.IEndpointSummaryMetadata>().LastOrDefault()?.Summary is { } text && text != operation.Summary)
        {
            operation.Description = text;
        }
        var path = "/" + context.ApiDescription.RelativePath;
        if (!path.StartsWith("/api/v1/", StringComparison.Ordinal))
        {
            return;
        }
        operation.Responses ??= [];
        var problem = context.SchemaGenerator.GenerateSchema(typeof(ProblemDetails), context.SchemaRepository);
        var method = context.ApiDescription.HttpMethod ?? "GET";
        var writes = method is "POST" or "PUT" or "DELETE" && operation.OperationId != "DescribeChannels";
        Add(operation, problem, StatusCodes.Status401Unauthorized, "No valid API key (only when Milvus:Auth:ApiKeys is set).");
        Add(operation, problem, StatusCodes.Status429TooManyRequests, "Over Milvus:RateLimit:PermitsPerSecond for this client; Retry-After says when to come back.");
        Add(operation, problem, StatusCodes.Status503ServiceUnavailable, "A backend is unavailable.");
        if (operation.RequestBody is not null)
        {
            Add(operation, problem, StatusCodes.Status413PayloadTooLarge, "The body is over Milvus:Limits:MaxRequestBytes, or a payload over Milvus:Limits:MaxMessageBytes.");
            Add(operation, problem, StatusCodes.Status415UnsupportedMediaType, "The body is not UTF-8 JSON (Content-Type application/json).");
        }
        if (writes)
        {
            Add(operation, problem, StatusCodes.Status507InsufficientStorage, "A store's disk is full; nothing was written.");
        }
        foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
        {
            if (parameter.Name is "channel" or "group" or "subName" && parameter.Schema is OpenApiSchema schema)
            {
                schema.Pattern = MqNames.Pattern;
            }
            if (parameter.Name == IdempotencyKeys.Header)
            {
                DescribeIdempotencyKey(operation, parameter);
            }
            if (parameter.Name is { } name && ParameterExamples.TryGetValue(name, out var example))
            {
                parameter.Example = example.DeepClone();
            }
        }
        if (operation.OperationId is { } id && EventFormats.TryGetValue(id, out var format) && operation.Responses.TryGetValue("200", out var ok) && ok is OpenApiResponse response)
        {
            response.Description = format;
        }
        switch (operation.OperationId)
        {
            case "DestroyChannels":
                // Not demo, which the later examples use.
                if (operation.RequestBody?.Content?.TryGetValue("application/json", out var body) == true)
                {
                    body.Example = new JsonObject { ["channelNames"] = new JsonArray("demo-trash") };
                }
                operation.Description += " The example destroys demo-trash: make it first with PUT /api/v1/channels/demo-trash.";
                break;
            case "SeekMsgStream":
                operation.Description += " In the example, put a msgId that the channel holds: copy a position from the startPositions of a consume answer.";
                break;
            case "SubscribeMsgStream":
                // A name of its own: demo-sub is the consume example's subscription.
                foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>().Where(p => p.Name == "subName") ?? [])
                {
                    parameter.Example = "demo-sse";
                }
                break;
            case "GetSegment":
                operation.Description += " The example reads the first segment of demo, which exists once Milvus:Archive:Enabled is true and demo has been written and ticked.";
                break;
        }
    }

    /// <summary>Describes the Idempotency-Key header, and the header that marks a replayed answer.</summary>
    private static void DescribeIdempotencyKey(OpenApiOperation operation, OpenApiParameter parameter)
    {
        parameter.Description = "Optional. A key of your choice, the same on every retry of one write (a UUID, for example): the write is stored at most once per key and channel, " +
            "for Milvus:Mq:IdempotencyKeySeconds. 1 to 255 printable ASCII characters.";
        if (parameter.Schema is OpenApiSchema schema)
        {
            schema.Pattern = IdempotencyKeys.Pattern;
        }
        foreach (var (status, response) in operation.Responses!)
        {
            if (status.StartsWith('2') && response is OpenApiResponse ok)
            {
                ok.Headers ??= new Dictionary<string, IOpenApiHeader>();
                ok.Headers[IdempotencyKeys.ReplayedHeader] = new OpenApiHeader
                {
                    Description = "true when this answer repeats what an earlier call with the same Idempotency-Key stored, and nothing was stored now.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("true")] },
                };
            }
        }
        if (operation.Responses.TryGetValue("422", out var reused) && reused is OpenApiResponse unprocessable)
        {
            unprocessable.Description = "The Idempotency-Key was used on a channel for a different body; nothing was stored.";
        }
    }

    private static void Add(OpenApiOperation operation, IOpenApiSchema problem, int status, string description)
    {
        var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (operation.Responses!.ContainsKey(key))
        {
            return;
        }
        operation.Responses[key] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() { Schema = problem } },
        };
    }
}

/// <summary>
/// Orders the document as Swagger UI should list it, so that "Try it out" on each example from top to bottom works on
/// a fresh gateway: the tags in the order of <see cref="Tags"/> (each with its description), and within a tag the
/// operations that remove something (DELETE, <c>/destroy</c>) after the others. Adds a server relative to the document.
/// </summary>
internal sealed class ContractDocumentFilter : IDocumentFilter
{
    /// <summary>Each tag and its description, in the order the examples build on each other.</summary>
    internal static readonly (string Name, string Description)[] Tags =
    [
        ("Channels", "The channel service: create, describe, list and destroy channels and their owners. The examples make the channel demo."),
        ("Messages", "The message queue under the streams: produce raw messages and consume them through persisted consumer groups."),
        ("MsgStream", "Message streams at the time-ticked level: typed msgs as JSON or opaque payloads, repacked onto channels and consumed through server-side subscriptions."),
        ("Archived segments", "The segments the archiving flow graph writes (with Milvus:Archive:Enabled)."),
        ("Timestamps and ids", "Timestamps from the oracle and ids from the global allocator."),
        ("Sessions", "Service sessions with leases, and a watch of their changes."),
        ("Components", "The component states of the gateway and its backends."),
        ("Params", "The parameter table, and the cluster's run-time overrides (the example sets the tick interval to its default, then removes the override)."),
    ];

    public void Apply(OpenApiDocument swaggerDoc, DocumentFilterContext context)
    {
        swaggerDoc.Servers = [new OpenApiServer { Url = "/", Description = "This gateway" }];
        var order = Tags.Select((t, i) => (t.Name, i)).ToDictionary(t => t.Name, t => t.i, StringComparer.Ordinal);
        swaggerDoc.Tags = new HashSet<OpenApiTag>(Tags.Select(t => new OpenApiTag { Name = t.Name, Description = t.Description }));
        var paths = swaggerDoc.Paths.ToList();
        var sorted = paths
            .Select((p, index) => (p, index, Rank: Rank(p.Key, p.Value, order)))
            .OrderBy(x => x.Rank.Tag).ThenBy(x => x.Rank.Order).ThenBy(x => x.index)
            .Select(x => x.p)
            .ToList();
        swaggerDoc.Paths.Clear();
        foreach (var (key, value) in sorted)
        {
            swaggerDoc.Paths.Add(key, value);
        }
    }

    /// <summary>A path's tag, then its place in the tag: what creates by name (PUT) first, what removes last.</summary>
    private static (int Tag, int Order) Rank(string path, IOpenApiPathItem item, Dictionary<string, int> order)
    {
        var operations = item.Operations ?? [];
        var tag = operations.Values.SelectMany(o => o.Tags ?? new HashSet<OpenApiTagReference>()).Select(t => t.Name).FirstOrDefault(n => n is not null);
        var removes = path.EndsWith("/destroy", StringComparison.Ordinal) || operations.Count > 0 && operations.Keys.All(m => m == HttpMethod.Delete);
        var creates = operations.Count > 0 && operations.Keys.All(m => m == HttpMethod.Put);
        return (tag is not null && order.TryGetValue(tag, out var index) ? index : order.Count, removes ? 2 : creates ? 0 : 1);
    }
}
