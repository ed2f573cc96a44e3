using System.Diagnostics.Metrics;
using Milvus.Domain.Telemetry;

namespace Milvus.Domain.Mq.RocksMq;

/// <summary>RocksMQ's instruments on the gateway's meter, tagged <c>backend=rocksmq</c>: the shared MQ ones and retention.</summary>
internal static class RocksMqMetrics
{
    private static readonly MqMetrics Queue = new("rocksmq");

    private static readonly KeyValuePair<string, object?> Backend = new("backend", "rocksmq");

    private static readonly Counter<long> RetentionDeletedBytes = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.mq.retention.deleted.bytes", "By", "Bytes of acknowledged pages that retention deleted.");

    public static void Produced(long bytes) => Queue.Produced(bytes);

    public static void RetentionDeleted(long bytes) => RetentionDeletedBytes.Add(bytes, Backend);
}
