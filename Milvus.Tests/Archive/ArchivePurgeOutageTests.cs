using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Milvus.Domain.Archive;
using Milvus.Domain.Kv;
using Milvus.Tests.Api;
using Milvus.Tests.Infrastructure;
using Milvus.Workers.Kv;

namespace Milvus.Tests.Archive;

/// <summary>Destroying an archived channel while the object store (a private s3rver) is down.</summary>
public sealed class ArchivePurgeOutageTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ADestroyWhileTheObjectStoreIsDownIsA503WithTheMetaAlreadyGoneAndTheObjectsGoWhenTheStoreReturns()
    {
        const string bucket = "milvus-bucket";
        await using var s3 = await PrivateServer.StartS3rverAsync(bucket);
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:ObjectStorage:Backend"] = "minio",
            ["Milvus:Minio:Endpoint"] = s3.Address,
            ["Milvus:Minio:AccessKey"] = "S3RVER",
            ["Milvus:Minio:SecretKey"] = "S3RVER",
            ["Milvus:Minio:Bucket"] = bucket,
            ["Milvus:Minio:UseSsl"] = "false",
            ["Milvus:Archive:Enabled"] = "true",
            ["Milvus:Archive:DiscoveryIntervalMs"] = "50",
            ["Milvus:Archive:MaxSegmentMs"] = "600000",
        });
        using var client = factory.CreateClient();
        var channel = $"outage-{Guid.NewGuid():N}";
        var producer = new ArchiveClient();
        await ArchiveClient.CreateChannelAsync(client, channel);
        await producer.ProduceInsertsAsync(client, channel, 20);
        await producer.FlushAsync(client, channel);
        await ArchiveClient.WaitForArchivedAsync(client, channel, 21);
        var catalog = factory.Services.GetRequiredService<SegmentCatalog>();
        var objects = factory.Services.GetRequiredKeyedService<IBaseKv>(KvServiceCollectionExtensions.ObjectStoreKey);

        await s3.StopAsync();
        using var destroy = await client.PostAsJsonAsync("/api/v1/channels/destroy", new { channelNames = new[] { channel } });

        var problem = await GatewayBasicsTests.AssertProblem(destroy, HttpStatusCode.ServiceUnavailable);
        Assert.Contains(channel, problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        Assert.Empty(await catalog.ListSegmentsAsync(channel, CancellationToken.None));
        Assert.Contains(channel, await catalog.ListPendingPurgesAsync(CancellationToken.None));
        await GatewayBasicsTests.AssertProblem(await client.GetAsync($"/api/v1/channels/{channel}/segments"), HttpStatusCode.NotFound);
        Assert.Equal("Abnormal", (await ArchiverStateAsync(client, channel))?.GetProperty("stateCode").GetString());

        await s3.StartAgainAsync();

        await WaitUntilAsync(async () => (await catalog.ListPendingPurgesAsync(CancellationToken.None)).Count == 0);
        Assert.Empty((await objects.LoadWithPrefixAsync($"archive/{channel}/")).Keys);
        await WaitUntilAsync(async () => await ArchiverStateAsync(client, channel) is null);
    }

    private static async Task<JsonElement?> ArchiverStateAsync(HttpClient client, string channel)
    {
        using var states = JsonDocument.Parse(await client.GetStringAsync("/api/v1/components/states"));
        foreach (var state in states.RootElement.GetProperty("subcomponentStates").EnumerateArray())
        {
            if (state.GetProperty("role").GetString() == $"archiver/{channel}")
            {
                return state.Clone();
            }
        }
        return null;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var patience = new CancellationTokenSource(Patience);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (!await condition())
        {
            await poll.WaitForNextTickAsync(patience.Token);
        }
    }
}
