using System.Text.Json.Serialization;
using Microsoft.OpenApi;
using Milvus.Api.Security;

namespace Milvus.Api.Hosting;

/// <summary>The OpenAPI document and Swagger UI.</summary>
public static class SwaggerExtensions
{
    public static IServiceCollection AddMilvusSwagger(this IServiceCollection services)
    {
        // Swashbuckle describes types with MVC's JSON options, not the minimal APIs' ones: give it the same enum
        // converter, so that enums are documented as the names the gateway sends and accepts.
        services.Configure<Microsoft.AspNetCore.Mvc.JsonOptions>(options => options.JsonSerializerOptions.Converters.Add(new JsonStringEnumConverter()));
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Milvus components gateway",
                Version = "v1",
                Description = "The channel service, message streams, allocators and component states of the Milvus basic components, over HTTP/JSON. Errors are RFC 9457 problem details.",
            });
            // With Milvus:Auth:ApiKeys set, "Authorize" in Swagger UI takes the key and sends it as X-Api-Key.
            options.AddSecurityDefinition(ApiKeyAuthenticationHandler.SchemeName, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = "An API key from Milvus:Auth:ApiKeys (also accepted as 'Authorization: Bearer <key>').",
            });
            options.AddSecurityRequirement(document => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, document)] = [],
            });
            options.SchemaFilter<SwaggerExamples>();
            // Unsigned values with their real ranges: a uint32 hash key reaches 4294967295, a uint64 timestamp 2^64 - 1.
            options.MapType<uint>(() => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "uint32", Minimum = "0", Maximum = "4294967295" });
            options.MapType<ulong>(() => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "uint64", Minimum = "0", Maximum = "18446744073709551615" });
            var xml = Path.Combine(AppContext.BaseDirectory, "Milvus.Api.xml");
            if (File.Exists(xml))
            {
                options.IncludeXmlComments(xml);
            }
            // After the XML comments, so that the endpoints' own texts are not replaced by the shorter XML summaries.
            options.SchemaFilter<ContractSchemaFilter>();
            options.OperationFilter<ContractOperationFilter>();
            options.DocumentFilter<ContractDocumentFilter>();
        });
        return services;
    }
}
