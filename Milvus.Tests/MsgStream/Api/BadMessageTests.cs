using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Milvus.Tests.Api;
using Milvus.Tests.Archive;

namespace Milvus.Tests.MsgStream.Api;

/// <summary>
/// A queue message that is not a stream message, written through the message-queue route between stream msgs: every
/// kind of consumption passes over it, reports it in <c>skipped</c>, and goes on; the archiver stays Healthy.
/// </summary>
public sealed class BadMessageTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ARawMessageBetweenStreamMsgsIsSkippedAndReportedByPlainTickedAndSseConsumptionAndTheArchiver()
    {
        using var gateway = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:TimeTick:IntervalMs"] = "20",
            ["Milvus:Archive:Enabled"] = "true",
            ["Milvus:Archive:DiscoveryIntervalMs"] = "50",
            ["Milvus:Archive:MaxSegmentMs"] = "1",
        });
        var api = new MsgStreamApiClient(gateway.CreateClient());
        string[] channels = ["mixed"];
        await api.CreateChannelsAsync(channels);
        await api.ProduceAsync(channels, [MsgStreamApiClient.Msg("before", 0)]);
        using var raw = await api.Http.PostAsJsonAsync("/api/v1/channels/mixed/messages", new { messages = new[] { new { payload = "aGVsbG8=" } } });
        Assert.Equal(HttpStatusCode.Created, raw.StatusCode);
        var rawId = (await raw.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("msgIds")[0].GetInt64();
        await api.ProduceAsync(channels, [MsgStreamApiClient.Msg("after", 0)]);

        foreach (var aligned in new[] { false, true })
        {
            var (texts, skipped) = await ConsumeUntilAsync(api, channels, $"sub-{aligned}", aligned);
            Assert.Equal(["before", "after"], texts);
            var skip = Assert.Single(skipped);
            Assert.Equal("mixed", skip.GetProperty("channelName").GetString());
            Assert.Equal(rawId, skip.GetProperty("msgId").GetInt64());
            Assert.False(string.IsNullOrWhiteSpace(skip.GetProperty("reason").GetString()));
        }
        var (sseTexts, sseSkipped) = await ReadEventsUntilAsync(api.Http, "/api/v1/msgstream/subscribe?channels=mixed&subName=sse");
        Assert.Equal(["before", "after"], sseTexts);
        Assert.Equal(rawId, Assert.Single(sseSkipped).GetProperty("msgId").GetInt64());

        var segments = await ArchiveClient.WaitForArchivedAsync(api.Http, "mixed", 2);
        var archived = await ArchiveClient.ArchivedMsgsAsync(api.Http, "mixed", segments);
        Assert.Equal(2, archived.Count);
        using var states = JsonDocument.Parse(await api.Http.GetStringAsync("/api/v1/components/states"));
        var archiver = states.RootElement.GetProperty("subcomponentStates").EnumerateArray().Single(c => c.GetProperty("role").GetString() == "archiver/mixed");
        Assert.Equal("Healthy", archiver.GetProperty("stateCode").GetString());
        Assert.Contains("milvus_msgstream_skipped_messages_total", await api.Http.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    private static async Task<(List<string> Texts, List<JsonElement> Skipped)> ConsumeUntilAsync(MsgStreamApiClient api, string[] channels, string subName, bool aligned)
    {
        var texts = new List<string>();
        var skipped = new List<JsonElement>();
        using var timeout = new CancellationTokenSource(Patience);
        while (texts.Count < 2)
        {
            var response = await api.Http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels, subName, timeTickAligned = aligned, waitMs = 200 }, timeout.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var pack = await response.Content.ReadFromJsonAsync<JsonElement>(timeout.Token);
            Collect(pack, texts, skipped);
        }
        return (texts, skipped);
    }

    private static async Task<(List<string> Texts, List<JsonElement> Skipped)> ReadEventsUntilAsync(HttpClient http, string url)
    {
        var texts = new List<string>();
        var skipped = new List<JsonElement>();
        using var timeout = new CancellationTokenSource(Patience);
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        while (texts.Count < 2)
        {
            var line = await reader.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("The event stream ended.");
            if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                Collect(JsonDocument.Parse(line["data:".Length..]).RootElement.Clone(), texts, skipped);
            }
        }
        return (texts, skipped);
    }

    private static void Collect(JsonElement pack, List<string> texts, List<JsonElement> skipped)
    {
        texts.AddRange(pack.GetProperty("msgs").EnumerateArray()
            .Where(m => m.GetProperty("msgType").GetString() != "TimeTick")
            .Select(m => System.Text.Encoding.UTF8.GetString(m.GetProperty("payload").GetBytesFromBase64())));
        skipped.AddRange(pack.GetProperty("skipped").EnumerateArray().Select(s => s.Clone()));
    }
}
