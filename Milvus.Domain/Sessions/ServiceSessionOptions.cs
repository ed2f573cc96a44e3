namespace Milvus.Domain.Sessions;

/// <summary>Service sessions (section <c>Milvus:Session</c>).</summary>
public sealed class ServiceSessionOptions
{
    public const string SectionName = "Milvus:Session";

    /// <summary>The session lease's time to live, in seconds.</summary>
    public int TtlSeconds { get; set; } = 30;

    /// <summary>The address other gateways reach this one at; defaults to the first URL it listens on.</summary>
    public string? Address { get; set; }

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => TtlSeconds is >= 1 and <= 3600 ? null : "Milvus:Session:TtlSeconds must be between 1 and 3600.";
}
