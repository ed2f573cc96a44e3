using System.Diagnostics.Metrics;

namespace Milvus.Domain.Telemetry;

/// <summary>The message streams' own metrics.</summary>
internal static class MsgStreamTelemetry
{
    private static readonly Counter<long> SkippedMsgs = MilvusTelemetry.Meter.CreateCounter<long>(
        "milvus.msgstream.skipped.messages", "{message}", "Queue messages that a stream passed over (not stream messages, or undecodable), by channel.");

    /// <summary>Counts one message a stream passed over on <paramref name="channel"/>.</summary>
    public static void Skipped(string channel) => SkippedMsgs.Add(1, new KeyValuePair<string, object?>("channel", channel));
}
