using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Milvus.Api.Endpoints;
using Milvus.Workers.Tso.Http;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Milvus.Api.Hosting;

/// <summary>
/// The request body examples that Swagger UI's "Try it out" fills in. Run from the top of the document down, each
/// works on a fresh gateway: the channel examples make the channel <c>demo</c>, which the message and stream examples
/// use. The seek example's msgId must be one the channel holds: its description says to copy a consume's position.
/// </summary>
internal sealed class SwaggerExamples : ISchemaFilter
{
    private static readonly Dictionary<Type, Func<JsonNode>> Examples = new()
    {
        [typeof(TimestampRequest)] = () => new JsonObject { ["count"] = 1 },
        [typeof(IdRequest)] = () => new JsonObject { ["count"] = 10 },
        [typeof(PutChannelRequest)] = () => new JsonObject { ["ownerDescription"] = Owner() },
        [typeof(CreateChannelsRequest)] = () => new JsonObject { ["ownerDescription"] = Owner(), ["numChannels"] = 2 },
        [typeof(ChannelNamesRequest)] = () => new JsonObject { ["channelNames"] = new JsonArray("demo") },
        [typeof(ProduceRequest)] = () => new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["payload"] = "aGVsbG8=" }) },
        [typeof(CreateGroupRequest)] = () => new JsonObject { ["groupName"] = "demo-group", ["position"] = "Earliest" },
        [typeof(SeekRequest)] = () => new JsonObject { ["position"] = "Earliest" },
        [typeof(StreamProduceRequest)] = () => new JsonObject
        {
            ["channels"] = new JsonArray("demo"),
            ["msgs"] = new JsonArray(
                new JsonObject
                {
                    ["msgType"] = "Insert",
                    ["insert"] = new JsonObject
                    {
                        ["collectionName"] = "books",
                        ["partitionName"] = "_default",
                        ["rows"] = new JsonArray(
                            new JsonObject { ["rowId"] = 1, ["hashKey"] = 0, ["data"] = "aGVsbG8=" },
                            new JsonObject { ["rowId"] = 2, ["hashKey"] = 1, ["data"] = "d29ybGQ=" }),
                    },
                },
                new JsonObject
                {
                    ["msgType"] = "Search",
                    ["hashKeys"] = new JsonArray(0),
                    ["payload"] = "aGVsbG8=",
                }),
        },
        [typeof(StreamConsumeRequest)] = () => new JsonObject
        {
            ["channels"] = new JsonArray("demo"),
            ["subName"] = "demo-sub",
            ["timeTickAligned"] = true,
            ["waitMs"] = 1000,
            ["position"] = "earliest",
        },
        [typeof(StreamSeekRequest)] = () => new JsonObject
        {
            ["subName"] = "demo-sub",
            ["channels"] = new JsonArray("demo"),
            ["positions"] = new JsonArray(new JsonObject { ["channelName"] = "demo", ["msgId"] = 1, ["msgGroup"] = "demo-sub", ["timestamp"] = 0 }),
        },
        [typeof(SetParamsRequest)] = () => new JsonObject { ["params"] = new JsonObject { ["timetick.intervalms"] = "200" } },
    };

    private static JsonObject Owner() => new() { ["role"] = "demo-owner", ["address"] = "127.0.0.1:19530", ["descriptionText"] = "made by the example" };

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is OpenApiSchema concrete && Examples.TryGetValue(context.Type, out var example))
        {
            concrete.Examples = [example()];
        }
    }
}
