using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Milvus.Api.Infrastructure;
using Milvus.Domain.Params;

namespace Milvus.Api.Endpoints;

/// <summary>The effective parameter table (seed A.3).</summary>
public static class ParamsApi
{
    public static IEndpointRouteBuilder MapParamsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/params").WithTags("Params");
        group.MapGet("/", GetParams)
            .WithName("GetParams")
            .WithSummary("The effective parameters as dotted lower-case keys, filtered by prefix; secrets are shown as ***.");
        group.MapPut("/", SetOverrides)
            .WithValidation<SetParamsRequest>()
            .WithName("SetParamOverrides")
            .WithSummary("Sets run-time overrides, the highest parameter layer. Settings that a component read at start-up keep their value until it restarts.");
        return app;
    }

    /// <summary>Every parameter whose key starts with the prefix.</summary>
    public static Ok<IReadOnlyDictionary<string, string>> GetParams(BaseTable table, string? prefix) =>
        TypedResults.Ok(table.LoadWithPrefixMasked(prefix ?? ""));

    /// <summary>Sets run-time overrides and answers with the values now in effect.</summary>
    public static Ok<IReadOnlyDictionary<string, string>> SetOverrides(BaseTable table, SetParamsRequest request)
    {
        table.LoadFromKVPair(request.Params.Select(p => new KeyValuePair<string, string>(p.Key.ToLowerInvariant(), p.Value)));
        var effective = request.Params.Keys
            .Select(k => k.ToLowerInvariant())
            .Distinct(StringComparer.Ordinal)
            .ToDictionary(k => k, k => BaseTable.IsSecret(k) ? "***" : table.Load(k), StringComparer.Ordinal);
        return TypedResults.Ok<IReadOnlyDictionary<string, string>>(effective);
    }
}

/// <summary>Run-time parameter overrides: dotted keys and their new values.</summary>
public sealed record SetParamsRequest(Dictionary<string, string> Params);

/// <summary>Checks a <see cref="SetParamsRequest"/>.</summary>
public sealed class SetParamsRequestValidator : AbstractValidator<SetParamsRequest>
{
    /// <summary>The most overrides one request may set.</summary>
    public const int MaxParams = 1000;

    public SetParamsRequestValidator()
    {
        RuleFor(r => r.Params).NotNull().WithMessage("params is required.")
            .Must(p => p is { Count: > 0 and <= MaxParams }).WithMessage($"params must hold 1 to {MaxParams} entries.");
        RuleForEach(r => r.Params).ChildRules(pair =>
        {
            pair.RuleFor(p => p.Key).Matches("^[A-Za-z0-9_\\-]+(\\.[A-Za-z0-9_\\-]+)*$")
                .WithMessage(p => $"'{p.Key}' is not a dotted parameter key (letters, digits, '_' and '-', separated by dots).");
            pair.RuleFor(p => p.Value).NotNull().WithMessage(p => $"The value of '{p.Key}' must be a string.");
        });
    }
}
