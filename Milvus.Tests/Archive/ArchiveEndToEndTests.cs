using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Milvus.Domain.Archive;
using Milvus.Domain.Kv;
using Milvus.Domain.MsgStream;
using Milvus.Tests.Api;
using Milvus.Tests.Infrastructure;
using Milvus.Workers.Jobs;
using Milvus.Workers.Kv;

namespace Milvus.Tests.Archive;

/// <summary>
/// The archiving graph in a gateway, end to end: msgs produced over HTTP come back from the segments routes
/// exactly once and in order. Each object store runs the same tests (a one-line subclass).
/// </summary>
public abstract class ArchiveEndToEndTests
{
    /// <summary>The object store settings of the backend under test.</summary>
    protected abstract IDictionary<string, string?> ObjectStoreSettings();

    [Fact]
    public async Task AThousandMsgsInTwoChannelsComeBackFromTheSegmentsExactlyOnceAfterAFlush()
    {
        using var factory = Gateway();
        using var client = factory.CreateClient();
        var producer = new ArchiveClient();
        var channels = new[] { Unique("a"), Unique("b") };
        foreach (var channel in channels)
        {
            await ArchiveClient.CreateChannelAsync(client, channel);
        }

        for (var batch = 0; batch < 5; batch++)
        {
            foreach (var channel in channels)
            {
                await producer.ProduceInsertsAsync(client, channel, 100);
            }
        }
        foreach (var channel in channels)
        {
            await producer.FlushAsync(client, channel);
        }

        foreach (var channel in channels)
        {
            var segments = await ArchiveClient.WaitForArchivedAsync(client, channel, 501);
            var archived = await ArchiveClient.ArchivedMsgsAsync(client, channel, segments);
            var produced = producer.Produced(channel);
            Assert.Equal(501, produced.Count);
            Assert.Equal(produced.Select(p => p.Id), archived.Select(a => a.Id));
            Assert.All(produced.Zip(archived), pair => Assert.Equal(pair.First.Wire, pair.Second.Wire));
            // Nothing but the Flush cuts here, so the flush closes exactly one segment holding everything.
            var only = Assert.Single(segments);
            Assert.Equal(1, only.GetProperty("segmentId").GetInt64());
            Assert.Equal(channel, only.GetProperty("endPosition").GetProperty("channelName").GetString());
            Assert.StartsWith($"archive/{channel}/", only.GetProperty("objectKey").GetString(), StringComparison.Ordinal);
            Assert.True(only.GetProperty("sizeBytes").GetInt64() > 501 * 64);
        }
        await AssertGraphsReportAsync(client, channels);
    }

    [Fact]
    public async Task TheSizeThresholdCutsContiguousSegmentsThatTogetherHoldEveryMsg()
    {
        const int maxSegmentBytes = 4096;
        using var factory = Gateway(new Dictionary<string, string?> { ["Milvus:Archive:MaxSegmentBytes"] = maxSegmentBytes.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var client = factory.CreateClient();
        var producer = new ArchiveClient();
        var channel = Unique("sized");
        await ArchiveClient.CreateChannelAsync(client, channel);

        for (var batch = 0; batch < 40; batch++)
        {
            await producer.ProduceInsertsAsync(client, channel, 5, rowBytes: 128);
        }
        await producer.FlushAsync(client, channel);

        var segments = await ArchiveClient.WaitForArchivedAsync(client, channel, 201);
        var archived = await ArchiveClient.ArchivedMsgsAsync(client, channel, segments);
        Assert.Equal(producer.Produced(channel).Select(p => p.Id), archived.Select(a => a.Id));
        Assert.True(segments.Count > 5, $"Only {segments.Count} segments were cut.");
        ArchiveClient.AssertContiguous(segments);
    }

    [Fact]
    public async Task TheSegmentsRoutesAnswerBadNamesUnknownChannelsAndUnknownSegmentsWithProblems()
    {
        using var factory = Gateway();
        using var client = factory.CreateClient();
        var channel = Unique("empty");
        await ArchiveClient.CreateChannelAsync(client, channel);

        var empty = await ArchiveClient.SegmentsAsync(client, channel);
        var unknownChannel = await client.GetAsync($"/api/v1/channels/{Unique("nope")}/segments");
        var badName = await client.GetAsync("/api/v1/channels/bad$name/segments");
        var unknownSegment = await client.GetAsync($"/api/v1/channels/{channel}/segments/7");
        var badSegmentId = await client.GetAsync($"/api/v1/channels/{channel}/segments/seven");

        Assert.Empty(empty);
        await GatewayBasicsTests.AssertProblem(unknownChannel, HttpStatusCode.NotFound);
        await GatewayBasicsTests.AssertProblem(badName, HttpStatusCode.BadRequest);
        await GatewayBasicsTests.AssertProblem(unknownSegment, HttpStatusCode.NotFound);
        await GatewayBasicsTests.AssertProblem(badSegmentId, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task DestroyingAChannelStopsItsGraphAndDeletesItsSegmentsMetaAndObjectsAndLeavesTheOthersAlone()
    {
        using var factory = Gateway();
        using var client = factory.CreateClient();
        var producer = new ArchiveClient();
        var (destroyed, kept) = (Unique("destroyed"), Unique("kept"));
        foreach (var channel in new[] { destroyed, kept })
        {
            await ArchiveClient.CreateChannelAsync(client, channel);
            await producer.ProduceInsertsAsync(client, channel, 20);
            await producer.FlushAsync(client, channel);
        }
        var destroyedSegments = await ArchiveClient.WaitForArchivedAsync(client, destroyed, 21);
        var keptSegments = await ArchiveClient.WaitForArchivedAsync(client, kept, 21);
        var (meta, objects) = Stores(factory);
        foreach (var segment in destroyedSegments)
        {
            Assert.NotEmpty(await objects.LoadAsync(segment.GetProperty("objectKey").GetString()!));
        }

        using var destroy = await client.PostAsJsonAsync("/api/v1/channels/destroy", new { channelNames = new[] { destroyed } });

        Assert.Equal(HttpStatusCode.NoContent, destroy.StatusCode);
        Assert.Empty((await meta.LoadWithPrefixAsync($"archive/{destroyed}/")).Keys);
        Assert.Empty((await objects.LoadWithPrefixAsync($"archive/{destroyed}/")).Keys);
        foreach (var segment in destroyedSegments)
        {
            await Assert.ThrowsAsync<KvKeyNotFoundException>(() => objects.LoadAsync(segment.GetProperty("objectKey").GetString()!));
        }
        Assert.Empty(await factory.Services.GetRequiredService<SegmentCatalog>().ListPendingPurgesAsync(CancellationToken.None));
        Assert.DoesNotContain(destroyed, factory.Services.GetRequiredService<ArchiveSupervisor>().RunningChannels);
        await GatewayBasicsTests.AssertProblem(await client.GetAsync($"/api/v1/channels/{destroyed}/segments"), HttpStatusCode.NotFound);
        var stillKept = await ArchiveClient.ArchivedMsgsAsync(client, kept, keptSegments);
        Assert.Equal(producer.Produced(kept).Select(p => p.Id), stillKept.Select(a => a.Id));
        Assert.Contains(kept, factory.Services.GetRequiredService<ArchiveSupervisor>().RunningChannels);
    }

    [Fact]
    public async Task APurgeCutOffAfterItsMetaStepLeavesNoSegmentNamingADeletedObjectAndThePurgeJobDeletesTheOrphans()
    {
        using var factory = Gateway(new Dictionary<string, string?> { ["Milvus:Archive:Enabled"] = "false" });
        using var client = factory.CreateClient();
        var catalog = factory.Services.GetRequiredService<SegmentCatalog>();
        var (meta, objects) = Stores(factory);
        var (interrupted, vanished, live) = (Unique("interrupted"), Unique("vanished"), Unique("live"));
        await ArchiveClient.CreateChannelAsync(client, live);
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var channel in new[] { interrupted, vanished, live })
        {
            keys[channel] = await ArchiveOneSegmentAsync(catalog, channel);
        }

        // A crash right after the purge's meta step: the segments' meta is gone, their objects are not.
        await catalog.BeginPurgeAsync(interrupted, CancellationToken.None);

        Assert.Empty(await catalog.ListSegmentsAsync(interrupted, CancellationToken.None));
        Assert.Null(await catalog.LoadCheckpointAsync(interrupted, CancellationToken.None));
        Assert.NotEmpty(await objects.LoadAsync(keys[interrupted]));
        Assert.Equal([interrupted], await catalog.ListPendingPurgesAsync(CancellationToken.None));

        var job = factory.Services.GetServices<IMaintenanceJob>().Single(j => j.Id == ArchivePurgeJob.JobId);
        await job.RunAsync(CancellationToken.None);

        // The interrupted purge is finished, and the archive of a channel that no longer exists is purged too.
        Assert.Empty(await catalog.ListPendingPurgesAsync(CancellationToken.None));
        foreach (var gone in new[] { interrupted, vanished })
        {
            await Assert.ThrowsAsync<KvKeyNotFoundException>(() => objects.LoadAsync(keys[gone]));
            Assert.Empty((await meta.LoadWithPrefixAsync($"archive/{gone}/")).Keys);
        }
        Assert.NotEmpty(await objects.LoadAsync(keys[live]));
        Assert.Single(await catalog.ListSegmentsAsync(live, CancellationToken.None));
    }

    /// <summary>Writes and records one segment of <paramref name="channel"/> as the segment writer does, and returns its object key.</summary>
    private static async Task<string> ArchiveOneSegmentAsync(SegmentCatalog catalog, string channel)
    {
        var start = new MsgPosition(channel, 1, "archiver", 100);
        var key = SegmentCatalog.ObjectKey(channel, 1, start);
        await catalog.WriteObjectAsync(key, "segment bytes", CancellationToken.None);
        await catalog.CommitAsync(channel, new SegmentInfo(1, 100, 200, 1, 13, key, start, start with { MsgId = 2, Timestamp = 200 }), CancellationToken.None);
        return key;
    }

    private static (ITxnKv Meta, IBaseKv Objects) Stores(GatewayFactory factory) =>
        (factory.Services.GetRequiredService<ITxnKv>(), factory.Services.GetRequiredKeyedService<IBaseKv>(KvServiceCollectionExtensions.ObjectStoreKey));

    private static async Task AssertGraphsReportAsync(HttpClient client, IEnumerable<string> channels)
    {
        using var states = JsonDocument.Parse(await client.GetStringAsync("/api/v1/components/states"));
        var subcomponents = states.RootElement.GetProperty("subcomponentStates").EnumerateArray().ToList();
        foreach (var channel in channels)
        {
            var graph = Assert.Single(subcomponents, s => s.GetProperty("role").GetString() == $"archiver/{channel}");
            Assert.Equal("Healthy", graph.GetProperty("stateCode").GetString());
            var extra = graph.GetProperty("extraInfo").EnumerateArray().ToDictionary(e => e.GetProperty("key").GetString()!, e => e.GetProperty("value").GetString()!);
            Assert.True(long.TryParse(extra["timeTickLagMs"], out var lag) && lag >= 0, $"timeTickLagMs is '{extra["timeTickLagMs"]}'.");
            Assert.Equal("1", extra["segmentsWritten"]);
        }
    }

    private GatewayFactory Gateway(IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>(ObjectStoreSettings())
        {
            ["Milvus:Archive:Enabled"] = "true",
            ["Milvus:Archive:DiscoveryIntervalMs"] = "50",
            ["Milvus:Archive:MaxSegmentMs"] = "600000",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return new GatewayFactory(settings);
    }

    /// <summary>A channel name no other test run uses (the S3 bucket outlives test runs).</summary>
    private static string Unique(string name) => $"{name}-{Guid.NewGuid():N}";
}

/// <summary>Segments on local disk under the data directory.</summary>
public sealed class LocalArchiveEndToEndTests : ArchiveEndToEndTests
{
    protected override IDictionary<string, string?> ObjectStoreSettings() => new Dictionary<string, string?> { ["Milvus:ObjectStorage:Backend"] = "local" };
}

/// <summary>Segments in the s3rver bucket through MinIOKV.</summary>
public sealed class MinioArchiveEndToEndTests : ArchiveEndToEndTests
{
    protected override IDictionary<string, string?> ObjectStoreSettings() => new Dictionary<string, string?>
    {
        ["Milvus:ObjectStorage:Backend"] = "minio",
        ["Milvus:Minio:Endpoint"] = TestServers.S3Endpoint,
        ["Milvus:Minio:AccessKey"] = TestServers.S3AccessKey,
        ["Milvus:Minio:SecretKey"] = TestServers.S3SecretKey,
        ["Milvus:Minio:Bucket"] = TestServers.S3Bucket,
    };
}
