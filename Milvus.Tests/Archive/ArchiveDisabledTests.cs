using System.Text.Json;
using Milvus.Tests.Api;

namespace Milvus.Tests.Archive;

public sealed class ArchiveDisabledTests
{
    [Fact]
    public async Task WithArchivingOffTheArchiverReportsDisabledRunsNoGraphAndChannelsHaveNoSegments()
    {
        using var factory = new GatewayFactory();
        using var client = factory.CreateClient();
        var producer = new ArchiveClient();
        await ArchiveClient.CreateChannelAsync(client, "quiet");
        await producer.ProduceInsertsAsync(client, "quiet", 10);
        await producer.FlushAsync(client, "quiet");

        using var states = JsonDocument.Parse(await client.GetStringAsync("/api/v1/components/states"));
        var roles = states.RootElement.GetProperty("subcomponentStates").EnumerateArray().ToList();
        var archiver = Assert.Single(roles, s => s.GetProperty("role").GetString() == "archiver");
        var segments = await ArchiveClient.SegmentsAsync(client, "quiet");

        Assert.Contains(archiver.GetProperty("extraInfo").EnumerateArray(), e => e.GetProperty("key").GetString() == "enabled" && e.GetProperty("value").GetString() == "false");
        Assert.DoesNotContain(roles, s => s.GetProperty("role").GetString()!.StartsWith("archiver/", StringComparison.Ordinal));
        Assert.Empty(segments);
    }
}
