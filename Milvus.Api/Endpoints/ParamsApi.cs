using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Milvus.Api.Infrastructure;
using Milvus.Domain.Params;

namespace Milvus.Api.Endpoints;

/// <summary>
/// The effective parameter table (seed A.3), and its run-time overrides: kept in the meta KV for the whole cluster,
/// followed by every gateway within a second, kept across restarts, and applied live by the components that read them.
/// </summary>
public static class ParamsApi
{
    /// <summary>
    /// The keys an override may set, because what reads them applies a change at once, each with its rule. Every other
    /// key is read once at start: overriding it is a 409 that names it.
    /// </summary>
    private static readonly Dictionary<string, Func<string, string?>> LiveKeys = new(StringComparer.Ordinal)
    {
        ["timetick.intervalms"] = v => Integer(v, 1, 60_000),
        ["limits.maxrequestbytes"] = v => Integer(v, 1, long.MaxValue),
        ["limits.maxmessagebytes"] = v => Integer(v, 1, long.MaxValue),
        ["redismq.retentiontimeinminutes"] = v => Integer(v, -1, long.MaxValue),
        ["redismq.retentionsizeinmb"] = v => Integer(v, -1, long.MaxValue),
        ["redismq.retentionintervalseconds"] = v => Integer(v, 1, 86_400),
        ["nats.retentiontimeinminutes"] = v => Integer(v, -1, long.MaxValue),
        ["nats.retentionsizeinmb"] = v => Integer(v, -1, long.MaxValue),
        ["nats.retentionintervalseconds"] = v => Integer(v, 1, 86_400),
        ["ratelimit.permitspersecond"] = v => Integer(v, 0, int.MaxValue),
        ["ratelimit.burst"] = v => Integer(v, 0, int.MaxValue),
        [RuntimeOverridesSource.LogLevelKey] = v => v.Trim().ToLowerInvariant() is "debug" or "info" or "warn" or "error" ? null : "use debug, info, warn or error.",
    };

    public static IEndpointRouteBuilder MapParamsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/params").WithTags("Params");
        group.MapGet("/", GetParams)
            .WithName("GetParams")
            .WithSummary("The effective parameters as dotted lower-case keys, filtered by prefix; secrets are shown as ***.");
        group.MapGet("/layers", GetLayers)
            .WithName("GetParamLayers")
            .WithSummary("Each effective parameter under the prefix with the layer that gives it its value: a run-time override, a YAML file, appsettings, the environment or the command line; secrets are shown as ***.");
        group.MapPut("/", SetOverrides)
            .WithValidation<SetParamsRequest>()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("SetParamOverrides")
            .WithSummary($"Sets run-time overrides for the whole cluster: stored in the meta KV, seen by every gateway within a second, kept across restarts, and applied at once. Only keys whose readers apply a change live may be set ({string.Join(", ", LiveKeys.Keys)}); any other known key is a 409 naming it, an unknown key or a bad value a 400, and then nothing is stored. Answers the values now in effect.");
        group.MapDelete("/{key}", RemoveOverride)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("RemoveParamOverride")
            .WithSummary("Removes the run-time override of a key on every gateway; the key falls back to its configured value. 204, or 404 when the key has no override.");
        return app;
    }

    /// <summary>Every parameter whose key starts with the prefix.</summary>
    public static Ok<IReadOnlyDictionary<string, string>> GetParams(BaseTable table, string? prefix) =>
        TypedResults.Ok(table.LoadWithPrefixMasked(prefix ?? ""));

    /// <summary>Every parameter under the prefix with its layer.</summary>
    public static Ok<ParamLayersResponse> GetLayers(BaseTable table, string? prefix) =>
        TypedResults.Ok(new ParamLayersResponse([.. table.LoadWithPrefixMasked(prefix ?? "").Select(p => new ParamLayer(p.Key, p.Value, table.LayerOf(p.Key) ?? ""))]));

    /// <summary>Stores run-time overrides and answers with the values now in effect.</summary>
    public static async Task<Results<Ok<IReadOnlyDictionary<string, string>>, ValidationProblem, ProblemHttpResult>> SetOverrides(
        BaseTable table, ParamOverrideStore store, SetParamsRequest request, CancellationToken cancellationToken)
    {
        var wanted = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Params)
        {
            wanted[key.ToLowerInvariant()] = value;
        }
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var atStart = new List<string>();
        foreach (var (key, value) in wanted)
        {
            if (key.StartsWith("logging.", StringComparison.Ordinal))
            {
                errors[$"params.{key}"] = [$"{key} is not a parameter: set the log level with {RuntimeOverridesSource.LogLevelKey} (debug, info, warn or error)."];
            }
            else if (LiveKeys.TryGetValue(key, out var rule))
            {
                if (rule(value) is { } problem)
                {
                    errors[$"params.{key}"] = [$"'{value}' is not a valid value of {key}: {problem}"];
                }
            }
            else if (IsKnown(table, key))
            {
                atStart.Add(key);
            }
            else
            {
                errors[$"params.{key}"] = [$"{key} is not a parameter of this gateway. The keys that can be overridden at run time: {string.Join(", ", LiveKeys.Keys)}."];
            }
        }
        if (Effective("limits.maxmessagebytes") > Effective("limits.maxrequestbytes"))
        {
            errors["params.limits.maxmessagebytes"] = ["limits.maxmessagebytes must not be above limits.maxrequestbytes."];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "One or more parameters are invalid.");
        }
        if (atStart.Count > 0)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict",
                detail: $"{string.Join(", ", atStart)} {(atStart.Count == 1 ? "is" : "are")} read once at start: change {(atStart.Count == 1 ? "it" : "them")} in the configuration and restart. Nothing was stored.");
        }
        // Stored first: an override that did not reach the cluster is not applied here either.
        await store.SaveAsync(wanted, table, cancellationToken);
        var effective = wanted.Keys.ToDictionary(k => k, k => BaseTable.Mask(k, table.Load(k)), StringComparer.Ordinal);
        return TypedResults.Ok<IReadOnlyDictionary<string, string>>(effective);

        long Effective(string key) =>
            long.TryParse(wanted.TryGetValue(key, out var v) ? v : table.Load(key, "0"), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 0;
    }

    /// <summary>Removes a run-time override.</summary>
    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> RemoveOverride(string key, BaseTable table, ParamOverrideStore store, CancellationToken cancellationToken)
    {
        var normalized = key.ToLowerInvariant();
        if (!SetParamsRequestValidator.IsKey(normalized))
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["key"] = ["The key is not a dotted parameter key (letters, digits, '_' and '-', separated by dots)."] },
                title: "One or more fields are invalid.");
        }
        if (!await store.RemoveAsync(normalized, table, cancellationToken))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"{normalized} has no run-time override.");
        }
        return TypedResults.NoContent();
    }

    /// <summary>
    /// Every setting of the gateway's options (<c>Milvus:Section:Property</c> as <c>section.property</c>), whether the
    /// configuration sets it or it keeps its default.
    /// </summary>
    private static readonly HashSet<string> OptionKeys = typeof(BaseTable).Assembly.GetTypes()
        .Select(t => (Type: t, Section: t.GetField("SectionName", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)?.GetRawConstantValue() as string))
        .Where(t => t.Section?.StartsWith(ParamKeys.Section + ":", StringComparison.Ordinal) == true)
        .SelectMany(t => t.Type.GetProperties().Select(p => ParamKeys.ToDottedKey(t.Section![(ParamKeys.Section.Length + 1)..] + ":" + p.Name)))
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="key"/> is a setting of this gateway: in the table, an item of one (<c>auth.apikeys.0</c>), or an option.</summary>
    private static bool IsKnown(BaseTable table, string key)
    {
        var dot = key.LastIndexOf('.');
        var item = dot > 0 && key[(dot + 1)..].All(char.IsAsciiDigit) ? key[..dot] : key;
        return table.TryLoad(key, out _) || table.TryLoad(item, out _) || OptionKeys.Contains(key) || OptionKeys.Contains(item);
    }

    private static string? Integer(string value, long min, long max) =>
        long.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var number)
            ? number >= min && number <= max ? null : $"use a whole number from {min} to {max}."
            : "use a whole number.";
}

/// <summary>Effective parameters with the layer each comes from.</summary>
public sealed record ParamLayersResponse(IReadOnlyList<ParamLayer> Params);

/// <summary>One parameter, its effective value (secrets as ***) and the layer that gives it.</summary>
public sealed record ParamLayer(string Key, string Value, string Layer);

/// <summary>Run-time parameter overrides: dotted keys and their new values.</summary>
public sealed record SetParamsRequest(Dictionary<string, string> Params);

/// <summary>Checks a <see cref="SetParamsRequest"/>.</summary>
public sealed partial class SetParamsRequestValidator : AbstractValidator<SetParamsRequest>
{
    /// <summary>The most overrides one request may set.</summary>
    public const int MaxParams = 1000;

    /// <summary>Whether <paramref name="key"/> is a dotted parameter key of at most 255 characters.</summary>
    public static bool IsKey(string? key) => key is { Length: > 0 and <= 255 } && KeyPattern().IsMatch(key);

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_\\-]+(\\.[A-Za-z0-9_\\-]+)*\\z")]
    private static partial System.Text.RegularExpressions.Regex KeyPattern();

    public SetParamsRequestValidator()
    {
        RuleFor(r => r.Params).NotNull().WithMessage("params is required.")
            .Must(p => p is { Count: > 0 and <= MaxParams }).WithMessage($"params must hold 1 to {MaxParams} entries.");
        RuleForEach(r => r.Params).ChildRules(pair =>
        {
            pair.RuleFor(p => p.Key).Must(IsKey)
                .WithMessage(p => $"'{p.Key}' is not a dotted parameter key (letters, digits, '_' and '-', separated by dots).");
            pair.RuleFor(p => p.Value).NotNull().WithMessage(p => $"The value of '{p.Key}' must be a string.");
        });
    }
}
