using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Milvus.Api.Endpoints;
using Milvus.Domain.Allocation.Http;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Milvus.Api.Hosting;

/// <summary>
/// Examples that work as they are in Swagger UI's "Try it out": the request bodies of the allocation routes and of the
/// message stream routes. The stream examples use the channel <c>demo</c>, which <c>PUT /api/v1/channels/demo</c> makes.
/// </summary>
internal sealed class SwaggerExamples : ISchemaFilter
{
    private static readonly Dictionary<Type, Func<JsonNode>> Examples = new()
    {
        [typeof(TimestampRequest)] = () => new JsonObject { ["count"] = 1 },
        [typeof(IdRequest)] = () => new JsonObject { ["count"] = 10 },
        [typeof(StreamProduceRequest)] = () => new JsonObject
        {
            ["channels"] = new JsonArray("demo"),
            ["msgs"] = new JsonArray(new JsonObject
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
    };

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is OpenApiSchema concrete && Examples.TryGetValue(context.Type, out var example))
        {
            concrete.Examples = [example()];
        }
    }
}
