namespace Milvus.Api.Security;

/// <summary>Per-client rate limiting (section <c>Milvus:RateLimit</c>).</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "Milvus:RateLimit";

    /// <summary>Requests per second per client address; 0 turns rate limiting off.</summary>
    public int PermitsPerSecond { get; set; }

    /// <summary>How many requests a client may send at once above the steady rate.</summary>
    public int Burst { get; set; }

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => PermitsPerSecond >= 0 && Burst >= 0 ? null : "Milvus:RateLimit:PermitsPerSecond and Burst must not be negative.";
}
