namespace Milvus.Domain.Params;

/// <summary>API keys (section <c>Milvus:Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Milvus:Auth";

    /// <summary>When non-empty, every API call needs one of these keys.</summary>
    public string[] ApiKeys { get; set; } = [];

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => ApiKeys.Any(string.IsNullOrWhiteSpace) ? "Milvus:Auth:ApiKeys must not hold empty keys." : null;
}
