using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Archive;

/// <summary>The archiving graph across a kill -9 of a gateway child process.</summary>
public sealed class ArchiveCrashTests
{
    [Fact]
    public async Task AfterAKillMidStreamAndARestartTheSegmentsHoldEveryMsgExactlyOnce()
    {
        using var dataDir = new TempDirectory();
        await using var gateway = new GatewayProcess(dataDir.Path, new Dictionary<string, string>
        {
            ["Milvus:Archive:Enabled"] = "true",
            ["Milvus:Archive:DiscoveryIntervalMs"] = "50",
            ["Milvus:Archive:MaxSegmentBytes"] = "4096",
            ["Milvus:Archive:MaxSegmentMs"] = "600000",
        });
        await gateway.StartAsync();
        var producer = new ArchiveClient();
        string[] channels = ["crash-a", "crash-b"];
        foreach (var channel in channels)
        {
            await ArchiveClient.CreateChannelAsync(gateway.Client, channel);
        }

        await ProduceBatchesAsync(gateway.Client, producer, channels, 20);
        // The archiver is at work: some segments are recorded, more msgs wait behind them.
        await ArchiveClient.WaitForArchivedAsync(gateway.Client, channels[0], 100);
        await ProduceBatchesAsync(gateway.Client, producer, channels, 10);
        var before = await ArchiveClient.SegmentsAsync(gateway.Client, channels[0]);
        gateway.Kill();

        await gateway.RestartAsync();
        await ProduceBatchesAsync(gateway.Client, producer, channels, 20);
        foreach (var channel in channels)
        {
            await producer.FlushAsync(gateway.Client, channel);
        }

        foreach (var channel in channels)
        {
            var produced = producer.Produced(channel);
            var segments = await ArchiveClient.WaitForArchivedAsync(gateway.Client, channel, produced.Count);
            var archived = await ArchiveClient.ArchivedMsgsAsync(gateway.Client, channel, segments);
            Assert.Equal(50 * 10 + 1, produced.Count);
            Assert.Equal(produced.Select(p => p.Id), archived.Select(a => a.Id));
            Assert.All(produced.Zip(archived), pair => Assert.Equal(pair.First.Wire, pair.Second.Wire));
            ArchiveClient.AssertContiguous(segments);
        }
        var after = await ArchiveClient.SegmentsAsync(gateway.Client, channels[0]);
        // The segments recorded before the kill are kept as they were.
        Assert.All(before.Zip(after), pair => Assert.Equal(pair.First.GetRawText(), pair.Second.GetRawText()));
        Assert.Equal(2, gateway.Output.Split("Application started").Length - 1);
    }

    private static async Task ProduceBatchesAsync(HttpClient client, ArchiveClient producer, string[] channels, int batches)
    {
        for (var batch = 0; batch < batches; batch++)
        {
            foreach (var channel in channels)
            {
                await producer.ProduceInsertsAsync(client, channel, 10, rowBytes: 96);
            }
        }
    }
}
