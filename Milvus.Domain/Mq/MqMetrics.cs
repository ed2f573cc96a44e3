using System.Diagnostics.Metrics;
using Milvus.Domain.Telemetry;

namespace Milvus.Domain.Mq;

/// <summary>The message-queue instruments on the gateway's meter, tagged with one backend's name.</summary>
internal sealed class MqMetrics(string backend)
{
    private static readonly Counter<long> ProducedBytes = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.mq.produced.bytes", "By", "Payload bytes produced.");

    private readonly KeyValuePair<string, object?> _backend = new("backend", backend);

    /// <summary>Counts the bytes of a produced batch (the messages are counted per channel, as milvus.mq.channel.produced.messages).</summary>
    public void Produced(long bytes) => ProducedBytes.Add(bytes, _backend);
}
