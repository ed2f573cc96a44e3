using System.Diagnostics.Metrics;
using Milvus.Domain.Telemetry;

namespace Milvus.Domain.Mq.RocksMq;

/// <summary>RocksMQ's instruments on the gateway's meter, tagged <c>backend=rocksmq</c>.</summary>
internal static class RocksMqMetrics
{
    private static readonly KeyValuePair<string, object?> Backend = new("backend", "rocksmq");

    private static readonly Counter<long> ProducedMessages = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.mq.produced.messages", "{message}", "Messages produced.");

    private static readonly Counter<long> ProducedBytes = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.mq.produced.bytes", "By", "Payload bytes produced.");

    private static readonly Counter<long> ConsumedMessages = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.mq.consumed.messages", "{message}", "Messages handed to consumers.");

    private static readonly Counter<long> RetentionDeletedBytes = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.mq.retention.deleted.bytes", "By", "Bytes of acknowledged pages that retention deleted.");

    public static void Produced(int messages, long bytes)
    {
        ProducedMessages.Add(messages, Backend);
        ProducedBytes.Add(bytes, Backend);
    }

    public static void Consumed(int messages) => ConsumedMessages.Add(messages, Backend);

    public static void RetentionDeleted(long bytes) => RetentionDeletedBytes.Add(bytes, Backend);
}
