using FluentValidation;

namespace Milvus.Api.Infrastructure;

/// <summary>
/// Runs the FluentValidation validator of the endpoint's <typeparamref name="T"/> argument before the handler,
/// and answers 400 with the field errors when it fails.
/// </summary>
public sealed class ValidationFilter<T>(IValidator<T> validator) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var argument = context.Arguments.OfType<T>().FirstOrDefault();
        if (argument is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad request", detail: $"A {typeof(T).Name} body is required.");
        }
        var result = await validator.ValidateAsync(argument, context.HttpContext.RequestAborted).ConfigureAwait(false);
        return result.IsValid
            ? await next(context).ConfigureAwait(false)
            : TypedResults.ValidationProblem(
                result.ToDictionary().ToDictionary(e => JsonPath(e.Key), e => e.Value, StringComparer.Ordinal),
                title: "One or more fields are invalid.");
    }

    /// <summary>A validator's property path (<c>Msgs[0].HashKeys</c>) as the JSON path the client wrote (<c>msgs[0].hashKeys</c>).</summary>
    internal static string JsonPath(string propertyPath) =>
        string.Join('.', propertyPath.Split('.').Select(segment => segment.Length > 0 && char.IsUpper(segment[0])
            ? string.Concat(char.ToLowerInvariant(segment[0]).ToString(), segment.AsSpan(1))
            : segment));
}

/// <summary>Adds validation to an endpoint.</summary>
public static class ValidationFilterExtensions
{
    /// <summary>Validates the <typeparamref name="T"/> argument with its registered validator.</summary>
    public static RouteHandlerBuilder WithValidation<T>(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter<ValidationFilter<T>>().ProducesValidationProblem();
}
