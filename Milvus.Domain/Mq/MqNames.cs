using System.Text.RegularExpressions;

namespace Milvus.Domain.Mq;

/// <summary>The rule for channel and consumer group names (API.md).</summary>
public static partial class MqNames
{
    /// <summary>Letters, digits, <c>_</c>, <c>-</c> and <c>.</c>, 1 to 255 of them (as the OpenAPI document states it; the check ends at the string's very end).</summary>
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

    /// <summary>Checks the arguments of <see cref="IMqClient.ConsumeAsync"/>.</summary>
    /// <exception cref="MqInvalidNameException">A name is not valid.</exception>
    /// <exception cref="MqInvalidArgumentException"><paramref name="n"/> is below 1 or <paramref name="wait"/> is negative.</exception>
    public static void ValidateConsume(string channel, string group, int n, TimeSpan wait)
    {
        Validate(channel, "channel");
        Validate(group, "group");
        if (n < 1)
        {
            throw new MqInvalidArgumentException($"n must be at least 1, not {n}.");
        }
        if (wait < TimeSpan.Zero)
        {
            throw new MqInvalidArgumentException("The wait must not be negative.");
        }
    }

    // \z, not the pattern's $: in .NET, $ also matches before a final newline, so "name\n" would pass.
    [GeneratedRegex(@"^[A-Za-z0-9_\-\.]{1,255}\z", RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();
}
