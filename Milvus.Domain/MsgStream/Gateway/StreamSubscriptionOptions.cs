namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>Server-side message-stream subscriptions (section <c>Milvus:MsgStream</c>).</summary>
public sealed class StreamSubscriptionOptions
{
    public const string SectionName = "Milvus:MsgStream";

    /// <summary>A subscription unused for this long is closed by the expiry job.</summary>
    public int SubscriptionIdleSeconds { get; set; } = 300;

    /// <summary>How many subscriptions (consume and SSE together) may be open at once.</summary>
    public int MaxSubscriptions { get; set; } = 1024;

    /// <summary>How many of them one client (an API key, else an address) may hold on one gateway.</summary>
    public int MaxSubscriptionsPerClient { get; set; } = 128;

    /// <summary>The longest wait a consume may ask for.</summary>
    public int MaxWaitMs { get; set; } = 30_000;

    /// <summary>The most messages one consume answer holds when it joins ready time-ticked packs.</summary>
    public int MaxMsgsPerConsume { get; set; } = 10_000;

    /// <summary>The first invalid setting, or null.</summary>
    public string? Validate() =>
        SubscriptionIdleSeconds < 1 ? "Milvus:MsgStream:SubscriptionIdleSeconds must be at least 1."
        : MaxSubscriptions < 1 ? "Milvus:MsgStream:MaxSubscriptions must be at least 1."
        : MaxSubscriptionsPerClient < 1 ? "Milvus:MsgStream:MaxSubscriptionsPerClient must be at least 1."
        : MaxWaitMs is < 0 or > 600_000 ? "Milvus:MsgStream:MaxWaitMs must be between 0 and 600000."
        : MaxMsgsPerConsume < 1 ? "Milvus:MsgStream:MaxMsgsPerConsume must be at least 1."
        : null;
}
