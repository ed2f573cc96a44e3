namespace Milvus.Domain.Mq.Nats;

/// <summary>
/// The NATS JetStream queue (section <c>Milvus:Nats</c>; the YAML keys <c>nats.*</c> are the same settings). Retention
/// follows RocksMQ's rules, produce call by produce call (one JetStream message each): a batch that every consumer group
/// of its channel has read goes once it is older than the time, or while the channel's read batches are over the size;
/// a batch that a group has not read, and every batch of a channel without groups, stays.
/// </summary>
public sealed class NatsMqOptions
{
    public const string SectionName = "Milvus:Nats";

    /// <summary>The NATS server(s), e.g. <c>nats://127.0.0.1:4222</c>; several are separated by commas (default that one).</summary>
    public string Url { get; set; } = "nats://127.0.0.1:4222";

    /// <summary>
    /// Replicas of the queue's two JetStream streams (1 to 5; default 1). With 3, JetStream acknowledges a produce once a
    /// majority of the three servers has it, so it survives the loss of one server. Applied when the streams are created
    /// or updated at the gateway's first call.
    /// </summary>
    public int Replicas { get; set; } = 1;

    /// <summary>
    /// What the queue's stream names and subjects start with (letters, digits, <c>_</c> and <c>-</c>, up to 32; default
    /// <c>milvus</c>): streams <c>{prefix}_data</c> and <c>{prefix}_meta</c>, subjects <c>{prefix}.…</c>. Gateways with
    /// the same prefix share one queue.
    /// </summary>
    public string StreamPrefix { get; set; } = "milvus";

    /// <summary>The user name to connect with (with <see cref="Password"/>); empty for none.</summary>
    public string User { get; set; } = "";

    /// <summary>The password of <see cref="User"/>; shown as <c>***</c> in the parameter table.</summary>
    public string Password { get; set; } = "";

    /// <summary>A token to connect with instead of a user; shown as <c>***</c> in the parameter table.</summary>
    public string Token { get; set; } = "";

    /// <summary>
    /// Batches read by every group and older than this go; 0 removes them as soon as every group has read them, a
    /// negative value turns the time rule off (default 4320 = 3 days, as RocksMQ).
    /// </summary>
    public long RetentionTimeInMinutes { get; set; } = 4320;

    /// <summary>The oldest batches read by every group go while a channel's read batches take more than this many MiB; a negative value turns the size rule off (default 8192).</summary>
    public long RetentionSizeInMB { get; set; } = 8192;

    /// <summary>How often the retention pass runs, in seconds (default 60); one gateway of the cluster runs it.</summary>
    public int RetentionIntervalSeconds { get; set; } = 60;

    /// <summary>Whether the settings make sense; the message names the failing key.</summary>
    public string? Validate() => this switch
    {
        { Url: null } or { Url.Length: 0 } => "Milvus:Nats:Url must name at least one NATS server, e.g. nats://127.0.0.1:4222.",
        { Replicas: < 1 or > 5 } => "Milvus:Nats:Replicas must be from 1 to 5.",
        _ when !IsValidPrefix(StreamPrefix) => "Milvus:Nats:StreamPrefix must be 1 to 32 letters, digits, '_' or '-'.",
        _ when Token.Length > 0 && User.Length > 0 => "Milvus:Nats:Token and Milvus:Nats:User exclude each other: connect with a token or with a user and password.",
        _ when Password.Length > 0 && User.Length == 0 => "Milvus:Nats:Password needs Milvus:Nats:User.",
        { RetentionTimeInMinutes: < -1 } => "Milvus:Nats:RetentionTimeInMinutes must be -1 (off), 0 or more.",
        { RetentionSizeInMB: < -1 } => "Milvus:Nats:RetentionSizeInMB must be -1 (off), 0 or more.",
        { RetentionIntervalSeconds: < 1 } => "Milvus:Nats:RetentionIntervalSeconds must be at least 1.",
        _ => null,
    };

    private static bool IsValidPrefix(string? prefix) =>
        prefix is { Length: >= 1 and <= 32 } && prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
}
