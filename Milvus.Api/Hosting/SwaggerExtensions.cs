using Microsoft.OpenApi;
using Milvus.Api.Security;

namespace Milvus.Api.Hosting;

/// <summary>The OpenAPI document and Swagger UI.</summary>
public static class SwaggerExtensions
{
    public static IServiceCollection AddMilvusSwagger(this IServiceCollection services)
    {
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
            var xml = Path.Combine(AppContext.BaseDirectory, "Milvus.Api.xml");
            if (File.Exists(xml))
            {
                options.IncludeXmlComments(xml);
            }
        });
        return services;
    }
}
