using System.Text.RegularExpressions;

namespace Milvus.Domain.Mq;

/// <summary>The rule for channel and consumer group names (API.md).</summary>
public static partial class MqNames
{
    /// <summary>Letters, digits, <c>_</c>, <c>-</c> and <c>.</c>, 1 to 255 of them.</summary>
    public const string Pattern = @"^[A-Za-z0-9_\-\.]{1,255}$";

    /// <summary>Whether <paramref name="name"/> is a valid channel or group name.</summary>
    public static bool IsValid(string? name) => name is not null && NameRegex().IsMatch(name);

    /// <summary>Throws when <paramref name="name"/> is not a valid name; <paramref name="what"/> says what it names.</summary>
    /// <exception cref="MqInvalidNameException">The name is not valid.</exception>
    public static void Validate(string? name, string what)
    {
        if (!IsValid(name))
        {
            throw new MqInvalidNameException(what, name);
        }
    }

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();
}
