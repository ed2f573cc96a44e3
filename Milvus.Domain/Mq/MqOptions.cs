namespace Milvus.Domain.Mq;

/// <summary>The message queue (section <c>Milvus:Mq</c>).</summary>
public sealed class MqOptions
{
    public const string SectionName = "Milvus:Mq";

    public MqBackend Backend { get; set; } = MqBackend.RocksMq;

    /// <summary>
    /// How long a produce's <c>Idempotency-Key</c> is kept, in seconds (<c>Milvus:Mq:IdempotencyKeySeconds</c>, 1 to
    /// 30 days' worth): a retry within it repeats nothing. Each key costs its record (about 100 bytes and the ids) in
    /// the queue's store for that long.
    /// </summary>
    public int IdempotencyKeySeconds { get; set; } = 600;

    /// <summary>How long a produce's idempotency key is kept.</summary>
    public TimeSpan IdempotencyKeyLifetime => TimeSpan.FromSeconds(IdempotencyKeySeconds);

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() =>
        !Enum.IsDefined(Backend) ? "Milvus:Mq:Backend must be rocksmq, redis or nats."
        : IdempotencyKeySeconds < 1 || IdempotencyKeySeconds > MqProduceKey.MaxLifetime.TotalSeconds
            ? $"Milvus:Mq:IdempotencyKeySeconds must be between 1 and {MqProduceKey.MaxLifetime.TotalSeconds:0} (30 days), not {IdempotencyKeySeconds}."
            : null;
}

/// <summary>The message queue backends.</summary>
public enum MqBackend
{
    RocksMq,
    Redis,
    Nats,
}
