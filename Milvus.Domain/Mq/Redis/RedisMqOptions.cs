namespace Milvus.Domain.Mq.Redis;

/// <summary>
/// Redis Streams queue settings (section <c>Milvus:RedisMq</c>; the YAML keys <c>redismq.*</c> are the same
/// settings). Retention follows RocksMQ's rules, entry by entry: an entry that every consumer group of its channel has
/// read goes once it is older than the time, or while the channel's read entries are over the size; an entry that a
/// group has not read, and every entry of a channel without groups, stays.
/// </summary>
public sealed class RedisMqOptions
{
    public const string SectionName = "Milvus:RedisMq";

    /// <summary>
    /// Entries read by every group and older than this go; 0 removes them as soon as every group has read them, a
    /// negative value turns the time rule off (default 4320 = 3 days, as RocksMQ).
    /// </summary>
    public long RetentionTimeInMinutes { get; set; } = 4320;

    /// <summary>
    /// The oldest entries read by every group go while a channel's read entries take more than this many MiB of Redis
    /// memory (estimated with <c>MEMORY USAGE</c>); a negative value turns the size rule off (default 8192).
    /// </summary>
    public long RetentionSizeInMB { get; set; } = 8192;

    /// <summary>How often the retention pass runs, in seconds (default 60); one gateway of the cluster runs it.</summary>
    public int RetentionIntervalSeconds { get; set; } = 60;

    /// <summary>
    /// What an acknowledged produce promises (see <see cref="RedisDurability"/>): <c>everysec</c> (the default: what
    /// Redis's own persistence promises, with AOF <c>everysec</c> up to a second of acknowledged msgs lost in a Redis
    /// crash), <c>always</c> (the gateway makes sure that Redis runs <c>appendonly yes</c> with <c>appendfsync
    /// always</c>, and refuses to produce otherwise) or <c>replicas:N</c> (each produce waits until N replicas have
    /// it, and answers 503 when they do not confirm in time). Read at start.
    /// </summary>
    public string Durability { get; set; } = "everysec";

    /// <summary><see cref="Durability"/> as a value, or null when it is not one.</summary>
    public RedisDurability? DurabilityMode => Durability.Trim().ToLowerInvariant() switch
    {
        "everysec" => RedisDurability.EverySecond,
        "always" => RedisDurability.Always,
        _ when Replicas > 0 => RedisDurability.Replicas,
        _ => null,
    };

    /// <summary>N of <c>replicas:N</c> (1 to 16), or 0 when <see cref="Durability"/> is not that.</summary>
    public int Replicas =>
        Durability.Trim().ToLowerInvariant() is ['r', 'e', 'p', 'l', 'i', 'c', 'a', 's', ':', .. var n]
        && int.TryParse(n, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count) && count is >= 1 and <= 16
            ? count
            : 0;

    /// <summary>Whether the settings make sense; the message names the failing key.</summary>
    public string? Validate() => this switch
    {
        { DurabilityMode: null } => $"Milvus:RedisMq:Durability must be everysec, always or replicas:N with N from 1 to 16, not '{Durability}'.",
        { RetentionTimeInMinutes: < -1 } => "Milvus:RedisMq:RetentionTimeInMinutes must be -1 (off), 0 or more.",
        { RetentionSizeInMB: < -1 } => "Milvus:RedisMq:RetentionSizeInMB must be -1 (off), 0 or more.",
        { RetentionIntervalSeconds: < 1 } => "Milvus:RedisMq:RetentionIntervalSeconds must be at least 1.",
        _ => null,
    };
}

/// <summary>What an acknowledged produce on the Redis queue promises (<c>Milvus:RedisMq:Durability</c>).</summary>
public enum RedisDurability
{
    /// <summary>What Redis's persistence gives, unchecked: with AOF <c>everysec</c>, up to a second lost in a Redis crash.</summary>
    EverySecond,

    /// <summary>Only on a Redis that fsyncs its AOF before it answers (<c>appendonly yes</c>, <c>appendfsync always</c>).</summary>
    Always,

    /// <summary>Once N replicas have the write (<c>WAIT N</c>): it survives the loss of the primary.</summary>
    Replicas,
}
