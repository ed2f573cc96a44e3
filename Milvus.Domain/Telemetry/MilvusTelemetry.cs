using System.Diagnostics.Metrics;

namespace Milvus.Domain.Telemetry;

/// <summary>
/// The one <see cref="Meter"/> of the gateway. Instruments use OpenTelemetry-style dotted names with units,
/// e.g. <c>milvus.mq.produced.messages</c> with unit <c>{message}</c>; the Prometheus exporter turns them into
/// <c>milvus_mq_produced_messages_total</c>.
/// </summary>
public static class MilvusTelemetry
{
    /// <summary>The meter's name, to register with OpenTelemetry.</summary>
    public const string MeterName = "Milvus";

    /// <summary>The shared meter.</summary>
    public static Meter Meter { get; } = new(MeterName, "1.0");
}
