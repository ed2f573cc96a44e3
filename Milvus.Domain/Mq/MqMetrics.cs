using System.Diagnostics.Metrics;
using Milvus.Domain.Telemetry;

namespace Milvus.Domain.Mq;

/// <summary>The message-queue instruments on the gateway's meter, tagged with one backend's name.</summary>
public sealed class MqMetrics(string backend)
{
    private static readonly Counter<long> ProducedMessages = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.mq.produced.messages", "{message}", "Messages produced.");

    private static readonly Counter<long> ProducedBytes = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.mq.produced.bytes", "By", "Payload bytes produced.");

    private static readonly Counter<long> ConsumedMessages = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.mq.consumed.messages", "{message}", "Messages handed to consumers.");

    private readonly KeyValuePair<string, object?> _backend = new("backend", backend);

    /// <summary>Counts a produced batch.</summary>
    public void Produced(int messages, long bytes)
    {
        ProducedMessages.Add(messages, _backend);
        ProducedBytes.Add(bytes, _backend);
    }

    /// <summary>Counts messages handed to a consumer.</summary>
    public void Consumed(int messages)
    {
        if (messages > 0)
        {
            ConsumedMessages.Add(messages, _backend);
        }
    }
}
