using System.Net;
using System.Text.Json;
using Milvus.Tests.Api;
using Milvus.Tests.Infrastructure;

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
