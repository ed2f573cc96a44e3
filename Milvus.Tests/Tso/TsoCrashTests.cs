using System.Net.Http.Json;
using Milvus.Domain.Tso;
using Milvus.Tests.Infrastructure;
using Milvus.Workers.Tso.Http;

namespace Milvus.Tests.Tso;

/// <summary>
/// The published gateway as a child process, killed with kill -9 five times while it issues timestamps and ids.
/// After each restart on the same data directory (or the same etcd root), everything new is above everything
/// before. The saved window is 10 minutes (a restart on a loaded machine takes far less than half of it), so a
/// restart that ignored the saved values would start at the wall clock and be caught: the new first timestamp and
/// id must lie well ahead of it (on the in-memory meta store this test fails, as it should). Each persistent
/// meta-KV backend runs it through a subclass that selects it.
/// </summary>
public abstract class TsoCrashTests
{
    private const int SaveIntervalMs = 600_000;

    protected abstract Dictionary<string, string> BackendSettings();

    [Fact]
    public async Task AfterEachOfFiveKillNineRestartsNewTimestampsAndIdsAreAboveAllBefore()
    {
        using var dataDir = new TempDirectory();
        var settings = BackendSettings();
        settings["Milvus:Tso:SaveIntervalMs"] = SaveIntervalMs.ToString();
        await using var gateway = new GatewayProcess(dataDir.Path, settings);
        await gateway.StartAsync();

        ulong highestTs = 0;
        long highestId = 0;
        for (var cycle = 0; cycle < 5; cycle++)
        {
            for (var i = 0; i < 50; i++)
            {
                var batch = await PostAsync<TimestampResponse>(gateway, "api/v1/tso", 1 + (i * 997 % 5000));
                Assert.True(batch.Timestamp > highestTs || (cycle == 0 && i == 0), $"cycle {cycle}: {batch.Timestamp} after {highestTs}");
                highestTs = batch.Timestamp + (ulong)batch.Count - 1;
                var range = await PostAsync<IdResponse>(gateway, "api/v1/ids", 1_000_000);
                Assert.True(range.Begin >= highestId, $"cycle {cycle}: ids from {range.Begin} after {highestId}");
                highestId = range.End;
            }

            gateway.Kill();
            await gateway.RestartAsync();

            var wallMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var first = await PostAsync<TimestampResponse>(gateway, "api/v1/tso", 1);
            var firstIds = await PostAsync<IdResponse>(gateway, "api/v1/ids", 1);

            Assert.True(first.Timestamp > highestTs, $"after kill {cycle + 1}: {first.Timestamp} is not above {highestTs}");
            Assert.True(firstIds.Begin >= highestId, $"after kill {cycle + 1}: id {firstIds.Begin} is not above {highestId}");
            Assert.True(first.PhysicalMs > wallMs + (SaveIntervalMs / 2), "the restart continued from the saved window, not from the wall clock");
            Assert.True(new HybridTimestamp((ulong)firstIds.Begin).PhysicalMs > wallMs + (SaveIntervalMs / 2), "the ids continued from the saved high-water mark");
            highestTs = first.Timestamp;
            highestId = firstIds.End;
        }
    }

    private static async Task<T> PostAsync<T>(GatewayProcess gateway, string route, long count)
    {
        var response = await gateway.Client.PostAsJsonAsync(route, new { count });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<T>())!;
    }
}

/// <summary>The embedded meta store: RocksDB under the data directory.</summary>
public sealed class RocksDbTsoCrashTests : TsoCrashTests
{
    protected override Dictionary<string, string> BackendSettings() => new() { ["Milvus:Kv:Backend"] = "rocksdb" };
}

/// <summary>etcd, under a root path of its own.</summary>
public sealed class EtcdTsoCrashTests : TsoCrashTests
{
    protected override Dictionary<string, string> BackendSettings() => new()
    {
        ["Milvus:Kv:Backend"] = "etcd",
        ["Milvus:Etcd:Endpoints"] = TestServers.EtcdEndpoints,
        ["Milvus:Etcd:RootPath"] = $"tso-crash-{Guid.NewGuid():N}",
    };
}
