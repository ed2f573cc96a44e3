using System.Diagnostics.Metrics;

namespace Milvus.Domain.Telemetry;

/// <summary>
/// The TSO's rate: <c>milvus.tso.issued.timestamps</c> and <c>milvus.tso.issued.ids</c>, counted where the gateway
/// hands them out to its clients.
/// </summary>
public static class TsoTelemetry
{
    private static readonly Counter<long> Timestamps = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.tso.issued.timestamps", "{timestamp}", "Hybrid timestamps issued.");

    private static readonly Counter<long> Ids = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.tso.issued.ids", "{id}", "Ids issued.");

    /// <summary>Counts a batch of timestamps.</summary>
    public static void IssuedTimestamps(long count) => Timestamps.Add(count);

    /// <summary>Counts a range of ids.</summary>
    public static void IssuedIds(long count) => Ids.Add(count);
}
