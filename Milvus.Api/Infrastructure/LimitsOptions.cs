namespace Milvus.Api.Infrastructure;

/// <summary>Request limits (section <c>Milvus:Limits</c>).</summary>
public sealed class LimitsOptions
{
    public const string SectionName = "Milvus:Limits";

    /// <summary>The largest request body, in bytes; larger bodies get 413.</summary>
    public long MaxRequestBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>The largest single message payload, in bytes; larger payloads get 413.</summary>
    public long MaxMessageBytes { get; set; } = 8L * 1024 * 1024;

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => MaxRequestBytes > 0 && MaxMessageBytes > 0 && MaxMessageBytes <= MaxRequestBytes
        ? null
        : "Milvus:Limits:MaxRequestBytes and MaxMessageBytes must be positive, with MaxMessageBytes ≤ MaxRequestBytes.";
}
