using Microsoft.Extensions.Options;

namespace Milvus.Api.Hosting;

/// <summary>The start failures that are the operator's to fix (a setting), said in one line instead of a stack trace.</summary>
internal static class StartupFailure
{
    /// <summary>What is wrong, naming the setting, or null for a failure that is not a setting's.</summary>
    public static string? Describe(Exception exception) => exception switch
    {
        OptionsValidationException invalid => string.Join(" ", invalid.Failures),
        // The configuration binder's words for a value of the wrong type; they name the key and the value.
        InvalidOperationException { Message: var message } when message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) => message,
        _ => null,
    };
}
