namespace Milvus.Domain.Mq;

/// <summary>The message queue (section <c>Milvus:Mq</c>).</summary>
public sealed class MqOptions
{
    public const string SectionName = "Milvus:Mq";

    public MqBackend Backend { get; set; } = MqBackend.RocksMq;

    /// <summary>The first invalid setting, named by its key, or null when all are valid.</summary>
    public string? Validate() => Enum.IsDefined(Backend) ? null : "Milvus:Mq:Backend must be rocksmq, redis or nats.";
}

/// <summary>The message queue backends.</summary>
public enum MqBackend
{
    RocksMq,
    Redis,
    Nats,
}
