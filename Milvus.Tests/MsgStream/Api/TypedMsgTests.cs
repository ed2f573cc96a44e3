using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Wire;
using Milvus.Tests.Api;
using Milvus.Tests.Archive;

namespace Milvus.Tests.MsgStream.Api;

/// <summary>
/// Typed msgs written and read as JSON over HTTP: Insert and Delete rows split per hash key, every typed body and an
/// opaque payload of every type read back in the form it was produced in, by consume and by the segment route.
/// </summary>
public sealed class TypedMsgTests(TypedMsgTests.Fixture fixture) : IClassFixture<TypedMsgTests.Fixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly MsgStreamApiClient _api = new(fixture.Factory.CreateClient());

    public sealed class Fixture : IDisposable
    {
        public GatewayFactory Factory { get; } = new(new Dictionary<string, string?>
        {
            ["Milvus:TimeTick:IntervalMs"] = "20",
            ["Milvus:Archive:Enabled"] = "true",
            ["Milvus:Archive:DiscoveryIntervalMs"] = "50",
            ["Milvus:Archive:MaxSegmentMs"] = "1",
        });

        public void Dispose() => Factory.Dispose();
    }

    [Fact]
    public async Task JsonInsertAndDeleteRowsGoToTheChannelOfEachRowsKeyAndAnOpaqueInsertGoesWholeByItsFirstKey()
    {
        string[] channels = ["split-0", "split-1", "split-2"];
        await _api.CreateChannelsAsync(channels);
        var insert = new JsonObject
        {
            ["msgType"] = "Insert",
            ["insert"] = new JsonObject
            {
                ["collectionName"] = "books",
                ["partitionName"] = "_default",
                ["segmentId"] = 12,
                ["rows"] = new JsonArray([.. Enumerable.Range(0, 6).Select(k => (JsonNode)new JsonObject
                {
                    ["rowId"] = 100 + k,
                    ["timestamp"] = 5,
                    ["hashKey"] = k,
                    ["data"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"row {k}")),
                })]),
            },
        };
        var delete = new JsonObject
        {
            ["msgType"] = "Delete",
            ["hashKeys"] = new JsonArray(7, 8, 9),
            ["delete"] = new JsonObject
            {
                ["collectionName"] = "books",
                ["rows"] = new JsonArray([.. new uint[] { 7, 8, 9 }.Select(k => (JsonNode)new JsonObject
                {
                    ["primaryKey"] = Convert.ToBase64String([(byte)k]),
                    ["hashKey"] = k,
                })]),
            },
        };
        byte[] opaque = [0xff, 0x00, 0x0a, 0x02];
        var opaqueInsert = new JsonObject { ["msgType"] = "Insert", ["hashKeys"] = new JsonArray(4, 0), ["payload"] = Convert.ToBase64String(opaque) };

        var positions = await _api.ProduceAsync(channels, [insert, delete, opaqueInsert]);

        // The Insert splits into 3 parts (keys 0,3 | 1,4 | 2,5), the Delete into 3, and the opaque Insert stays whole.
        Assert.Equal(7, positions.Length);
        Assert.Equal([2, 3, 2], channels.Select(c => positions.Count(p => p.ChannelName == c)));
        for (var c = 0; c < channels.Length; c++)
        {
            var msgs = (await _api.ConsumeUntilAsync([channels[c]], $"split-sub-{c}", m => m.Count(IsData) >= (c == 1 ? 3 : 2)))
                .SelectMany(p => p.Msgs).Where(IsData).ToList();
            var inserted = Assert.Single(msgs, m => m is { MsgType: "Insert", Insert: not null }).Insert!.Value;
            var rows = inserted.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal([(uint)c, (uint)c + 3], rows.Select(r => r.GetProperty("hashKey").GetUInt32()));
            Assert.Equal(rows.Select(r => $"row {r.GetProperty("hashKey").GetUInt32()}"), rows.Select(r => Encoding.UTF8.GetString(r.GetProperty("data").GetBytesFromBase64())));
            Assert.Equal([100L + c, 103L + c], rows.Select(r => r.GetProperty("rowId").GetInt64()));
            Assert.Equal("books", inserted.GetProperty("collectionName").GetString());
            Assert.Equal(12, inserted.GetProperty("segmentId").GetInt64());
            var insertMsg = msgs.Single(m => m.Insert is not null);
            Assert.Equal([(uint)c, (uint)c + 3], insertMsg.HashKeys);
            Assert.Null(insertMsg.Payload);

            var deleted = Assert.Single(msgs, m => m.MsgType == "Delete");
            var deletedRow = Assert.Single(deleted.Delete!.Value.GetProperty("rows").EnumerateArray());
            Assert.Equal((uint)c, deletedRow.GetProperty("hashKey").GetUInt32() % 3);
            Assert.Equal([(byte)deletedRow.GetProperty("hashKey").GetUInt32()], deletedRow.GetProperty("primaryKey").GetBytesFromBase64());
            if (c == 1)
            {
                var whole = Assert.Single(msgs, m => m is { MsgType: "Insert", Payload: not null });
                Assert.Equal(opaque, whole.Payload);
                Assert.Equal([4u, 0u], whole.HashKeys);
                Assert.Null(whole.Insert);
            }
        }
    }

    [Fact]
    public async Task EveryTypedBodyAndAPayloadOfEveryTypeIsAnsweredInTheFormItWasProducedInByConsumeAndTheSegmentRoute()
    {
        string[] channels = ["round-trip"];
        await _api.CreateChannelsAsync(channels);
        var typed = new Dictionary<long, (string Type, string Property, JsonObject Body)>
        {
            [9001] = ("Insert", "insert", new JsonObject
            {
                ["collectionName"] = "c", ["partitionName"] = "p", ["segmentId"] = 9_007_199_254_740_993L,
                ["rows"] = new JsonArray(new JsonObject { ["rowId"] = long.MaxValue, ["timestamp"] = ulong.MaxValue, ["hashKey"] = 3_000_000_000u, ["data"] = "AAEC/w==" }),
            }),
            [9002] = ("Delete", "delete", new JsonObject
            {
                ["collectionName"] = "c", ["partitionName"] = "p",
                ["rows"] = new JsonArray(new JsonObject { ["primaryKey"] = "cGsx", ["timestamp"] = 17, ["hashKey"] = 0 }),
            }),
            [9003] = ("Flush", "flush", new JsonObject { ["collectionName"] = "c", ["segmentIds"] = new JsonArray(1, 9_007_199_254_740_993L) }),
            [9004] = ("CreateCollection", "collection", new JsonObject { ["collectionName"] = "c", ["collectionId"] = 44, ["schema"] = "c2NoZW1h" }),
            [9005] = ("DropCollection", "collection", new JsonObject { ["collectionName"] = "c", ["collectionId"] = 44, ["schema"] = "" }),
            [9006] = ("CreatePartition", "partition", new JsonObject { ["collectionName"] = "c", ["partitionName"] = "p", ["collectionId"] = 44, ["partitionId"] = 45 }),
            [9007] = ("DropPartition", "partition", new JsonObject { ["collectionName"] = "c", ["partitionName"] = "p", ["collectionId"] = 44, ["partitionId"] = 45 }),
            [9008] = ("TimeTick", "timeTick", new JsonObject { ["sourceId"] = 77 }),
        };
        var payloads = Enum.GetValues<MsgType>().Where(MsgBodies.IsSendable)
            .Select((type, i) => (Id: 10_000L + i, Type: type.ToString(), Bytes: new byte[] { 0xff, (byte)i, 0x0a }))
            .ToList();
        // Insert and Delete are routed by their rows' keys; every other msg by hashKeys.
        var msgs = typed.Select(t => (JsonNode)new JsonObject
            {
                ["msgType"] = t.Value.Type,
                ["id"] = t.Key,
                ["hashKeys"] = t.Value.Type is "Insert" or "Delete" ? null : new JsonArray(0),
                [t.Value.Property] = t.Value.Body.DeepClone(),
            })
            .Concat(payloads.Select(p => (JsonNode)new JsonObject { ["msgType"] = p.Type, ["id"] = p.Id, ["hashKeys"] = new JsonArray(0), ["payload"] = Convert.ToBase64String(p.Bytes) }))
            .ToArray();
        var sent = typed.Count + payloads.Count;

        await _api.ProduceAsync(channels, msgs);
        var byId = await ConsumedJsonAsync(channels, sent);

        Assert.Equal(sent, byId.Count);
        foreach (var (id, (type, property, body)) in typed)
        {
            var msg = byId[id];
            Assert.Equal(type, msg["msgType"]!.GetValue<string>());
            Assert.True(JsonNode.DeepEquals(body, msg[property]), $"{type}: sent {body.ToJsonString()}, read {msg[property]?.ToJsonString()}");
            Assert.Null(msg["payload"]);
        }
        foreach (var (id, type, bytes) in payloads)
        {
            var msg = byId[id];
            Assert.Equal(type, msg["msgType"]!.GetValue<string>());
            Assert.Equal(bytes, Convert.FromBase64String(msg["payload"]!.GetValue<string>()));
            Assert.Equal(["msgType", "id", "beginTs", "endTs", "hashKeys", "payload"], msg.AsObject().Select(p => p.Key));
        }

        // The archiver takes the typed TimeTick for a tick; every other msg is archived in the form it was produced in.
        var segments = await ArchiveClient.WaitForArchivedAsync(_api.Http, "round-trip", sent - 1);
        var archived = new Dictionary<long, JsonNode>();
        foreach (var segment in segments)
        {
            var answer = JsonNode.Parse(await _api.Http.GetStringAsync($"/api/v1/channels/round-trip/segments/{segment.GetProperty("segmentId").GetInt64()}"))!;
            foreach (var msg in answer["msgs"]!.AsArray())
            {
                archived[msg!["id"]!.GetValue<long>()] = msg.DeepClone();
            }
        }
        Assert.Equal(byId.Keys.Where(id => id != 9008).Order(), archived.Keys.Where(id => id >= 9001).Order());
        Assert.All(archived.Where(a => a.Key >= 9001), a => Assert.True(JsonNode.DeepEquals(byId[a.Key], a.Value), $"msg {a.Key}: consumed {byId[a.Key].ToJsonString()}, archived {a.Value.ToJsonString()}"));
    }

    [Fact]
    public async Task AnInsertWhoseBodyDoesNotDecodeIsSkippedAndReportedWhileTheMsgsAroundItArrive()
    {
        string[] channels = ["bad-body"];
        await _api.CreateChannelsAsync(channels);
        await _api.ProduceAsync(channels, [MsgStreamApiClient.Msg("before", 0)]);
        // A valid header (an Insert) whose insert field (11) holds bytes that are no InsertBody.
        var header = new MsgEnvelope { FormatVersion = MsgCodec.FormatVersion, MsgType = (uint)MsgType.Insert, Id = 5, BeginTs = 1, EndTs = 1 }.ToByteArray();
        byte[] wire = [.. header, 0x5a, 0x02, 0xff, 0xff];
        using var raw = await _api.Http.PostAsJsonAsync("/api/v1/channels/bad-body/messages", new { messages = new[] { new { payload = wire } } });
        Assert.Equal(HttpStatusCode.Created, raw.StatusCode);
        var rawId = (await raw.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("msgIds")[0].GetInt64();
        await _api.ProduceAsync(channels, [MsgStreamApiClient.Msg("after", 0)]);

        var texts = new List<string>();
        var skipped = new List<JsonElement>();
        var clock = Stopwatch.StartNew();
        while (texts.Count < 2 || skipped.Count < 1)
        {
            Assert.True(clock.Elapsed < Patience, $"Only {texts.Count} msgs and {skipped.Count} skips arrived in time.");
            using var response = await _api.Http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels, subName = "bad-body-sub", timeTickAligned = false, waitMs = 500 });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var pack = await response.Content.ReadFromJsonAsync<JsonElement>();
            texts.AddRange(pack.GetProperty("msgs").EnumerateArray().Where(m => m.GetProperty("msgType").GetString() == "Search")
                .Select(m => Encoding.UTF8.GetString(m.GetProperty("payload").GetBytesFromBase64())));
            skipped.AddRange(pack.GetProperty("skipped").EnumerateArray().Select(s => s.Clone()));
        }

        Assert.Equal(["before", "after"], texts);
        var skip = Assert.Single(skipped);
        Assert.Equal(rawId, skip.GetProperty("msgId").GetInt64());
        Assert.Equal("bad-body", skip.GetProperty("channelName").GetString());
        Assert.Contains("Insert", skip.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATypedBodyAnswersItsSixtyFourBitValuesAsStringsWhenTheClientAsksForThem()
    {
        string[] channels = ["typed-strings"];
        await _api.CreateChannelsAsync(channels);
        var insert = new JsonObject
        {
            ["msgType"] = "Insert",
            ["insert"] = new JsonObject { ["segmentId"] = "9007199254740993", ["rows"] = new JsonArray(new JsonObject { ["rowId"] = "9007199254740995", ["hashKey"] = 1 }) },
        };
        await _api.ProduceAsync(channels, [insert]);

        var clock = Stopwatch.StartNew();
        JsonNode? found = null;
        while (found is null)
        {
            Assert.True(clock.Elapsed < Patience, "The Insert did not arrive in time.");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/msgstream/consume")
            {
                Content = JsonContent.Create(new { channels, subName = "typed-strings-sub", timeTickAligned = false, waitMs = 500 }),
            };
            request.Headers.Add("Accept-Type-Allow-Int64", "false");
            using var response = await _api.Http.SendAsync(request);
            found = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["msgs"]!.AsArray().FirstOrDefault(m => m!["msgType"]!.GetValue<string>() == "Insert");
        }

        Assert.Equal("9007199254740993", found["insert"]!["segmentId"]!.GetValue<string>());
        Assert.Equal("9007199254740995", found["insert"]!["rows"]![0]!["rowId"]!.GetValue<string>());
        Assert.Equal(1u, found["insert"]!["rows"]![0]!["hashKey"]!.GetValue<uint>());
    }

    private static bool IsData(WireMsg msg) => msg.MsgType != "TimeTick";

    /// <summary>The msgs of a second subscription on <paramref name="channels"/>, as the JSON the gateway wrote, by id.</summary>
    private async Task<Dictionary<long, JsonNode>> ConsumedJsonAsync(string[] channels, int count)
    {
        var byId = new Dictionary<long, JsonNode>();
        var clock = Stopwatch.StartNew();
        while (byId.Count < count)
        {
            Assert.True(clock.Elapsed < Patience, $"Only {byId.Count} of {count} msgs arrived in time.");
            using var response = await _api.Http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels, subName = "round-trip-json", timeTickAligned = false, waitMs = 500 });
            foreach (var msg in JsonNode.Parse(await response.Content.ReadAsStringAsync())!["msgs"]!.AsArray())
            {
                if (msg!["id"]!.GetValue<long>() >= 9001)
                {
                    byId[msg["id"]!.GetValue<long>()] = msg.DeepClone();
                }
            }
        }
        return byId;
    }
}
