using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Milvus.Domain.Telemetry;

/// <summary>
/// The gauge <c>milvus.rocksmq.disk.size</c>: the bytes of every file under each registered RocksMQ directory,
/// measured at scrape time (a RocksDB directory holds a few dozen files, so a scrape stays cheap).
/// </summary>
public sealed class RocksMqDiskTelemetry : IDisposable
{
    private static readonly ConcurrentDictionary<RocksMqDiskTelemetry, Func<string?>> Directories = new();

    private static readonly ObservableGauge<long> Size = MilvusTelemetry.Meter.CreateObservableGauge(
        "milvus.rocksmq.disk.size", Measure, "By", "Bytes that RocksMQ's files take on disk (write-ahead log, tables, manifests).");

    /// <param name="directory">Where RocksMQ lives; null until it has opened.</param>
    public RocksMqDiskTelemetry(Func<string?> directory) => Directories[this] = directory;

    public void Dispose() => Directories.TryRemove(this, out _);

    private static IEnumerable<Measurement<long>> Measure()
    {
        foreach (var directory in Directories.Values.Select(d => d()).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            long bytes = 0;
            try
            {
                bytes = new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Exists ? f.Length : 0);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A file that RocksDB deletes during the walk: this scrape skips the directory, the next one sees it.
                continue;
            }
            yield return new Measurement<long>(bytes, new KeyValuePair<string, object?>("path", directory));
        }
    }
}
