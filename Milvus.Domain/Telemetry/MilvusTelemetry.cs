using System.Diagnostics.Metrics;

namespace Milvus.Domain.Telemetry;

/// <summary>
/// The one <see cref="Meter"/> of the gateway. Instruments use OpenTelemetry-style dotted names with units,
/// e.g. <c>milvus.mq.channel.produced.messages</c> with unit <c>{message}</c>; the Prometheus exporter turns them into
/// <c>milvus_mq_channel_produced_messages_total</c>. Durations are in seconds, with <see cref="SecondsBuckets"/>.
/// </summary>
public static class MilvusTelemetry
{
    /// <summary>The meter's name, to register with OpenTelemetry.</summary>
    public const string MeterName = "Milvus";

    /// <summary>The shared meter.</summary>
    public static Meter Meter { get; } = new(MeterName, "1.0");

    /// <summary>Histogram bucket boundaries for durations in seconds, from half a millisecond to ten seconds.</summary>
    public static IReadOnlyList<double> SecondsBuckets { get; } = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
}
