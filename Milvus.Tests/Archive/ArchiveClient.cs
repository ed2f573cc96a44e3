using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Milvus.Domain.MsgStream;
using Milvus.Domain.Tso;

namespace Milvus.Tests.Archive;

/// <summary>
/// Drives a gateway over HTTP for the archiving tests: creates channels, produces Insert msgs, TimeTicks and
/// Flush msgs as TsMsg wire bytes through the MQ-level route, remembers every msg it produced, and reads the
/// archived segments back.
/// </summary>
internal sealed class ArchiveClient
{
    private static long s_nextId = 1;
    private readonly Dictionary<string, List<(long Id, byte[] Wire)>> _produced = new(StringComparer.Ordinal);
    private ulong _ts = HybridTimestamp.FromWallTime(DateTimeOffset.UtcNow).Value;

    /// <summary>The msgs produced into <paramref name="channel"/> (TimeTicks excepted), in order.</summary>
    public IReadOnlyList<(long Id, byte[] Wire)> Produced(string channel) => _produced[channel];

    public static async Task CreateChannelAsync(HttpClient client, string channel)
    {
        using var response = await client.PutAsync($"/api/v1/channels/{channel}", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    /// <summary>Produces <paramref name="count"/> one-row Inserts, then a TimeTick above them, in one request.</summary>
    public Task ProduceInsertsAsync(HttpClient client, string channel, int count, int rowBytes = 64)
    {
        var msgs = new List<TsMsg>();
        for (var i = 0; i < count; i++)
        {
            var ts = NextTs();
            var data = new byte[rowBytes];
            Random.Shared.NextBytes(data);
            msgs.Add(new InsertMsg
            {
                Id = Interlocked.Increment(ref s_nextId),
                BeginTs = ts,
                EndTs = ts,
                CollectionName = "c",
                Rows = [new InsertRowData(i, ts, 0, data)],
            });
        }
        return ProduceAsync(client, channel, msgs);
    }

    /// <summary>Produces a Flush msg, then a TimeTick above it.</summary>
    public Task FlushAsync(HttpClient client, string channel)
    {
        var ts = NextTs();
        return ProduceAsync(client, channel, [new FlushMsg { Id = Interlocked.Increment(ref s_nextId), BeginTs = ts, EndTs = ts, CollectionName = "c" }]);
    }

    /// <summary>Produces a bare TimeTick.</summary>
    public Task TickAsync(HttpClient client, string channel) => ProduceAsync(client, channel, []);

    /// <summary>The channel's segments as JSON.</summary>
    public static async Task<List<JsonElement>> SegmentsAsync(HttpClient client, string channel)
    {
        using var response = await client.GetAsync($"/api/v1/channels/{channel}/segments");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. body.RootElement.GetProperty("segments").EnumerateArray().Select(s => s.Clone())];
    }

    /// <summary>Waits until the channel's segments hold <paramref name="numMsgs"/> msgs; returns them.</summary>
    public static async Task<List<JsonElement>> WaitForArchivedAsync(HttpClient client, string channel, int numMsgs, TimeSpan? timeout = null)
    {
        var patience = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(90);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (true)
        {
            var segments = await SegmentsAsync(client, channel);
            var archived = segments.Sum(s => s.GetProperty("numMsgs").GetInt32());
            if (archived >= numMsgs)
            {
                return segments;
            }
            Assert.True(patience.Elapsed < limit, $"Channel {channel} has {archived} of {numMsgs} msgs archived after {limit.TotalSeconds} s.");
            await poll.WaitForNextTickAsync();
        }
    }

    /// <summary>Every archived msg of the channel, segment by segment, as (id, wire bytes).</summary>
    public static async Task<List<(long Id, byte[] Wire)>> ArchivedMsgsAsync(HttpClient client, string channel, IEnumerable<JsonElement> segments)
    {
        var all = new List<(long, byte[])>();
        foreach (var segment in segments)
        {
            var id = segment.GetProperty("segmentId").GetInt64();
            using var response = await client.GetAsync($"/api/v1/channels/{channel}/segments/{id}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var msgs = body.RootElement.GetProperty("msgs").EnumerateArray().ToList();
            Assert.Equal(segment.GetProperty("numMsgs").GetInt32(), msgs.Count);
            all.AddRange(msgs.Select(m => (m.GetProperty("id").GetInt64(), WireOf(m))));
        }
        return all;
    }

    /// <summary>Asserts that the segments follow each other: ids 1, 2, … and each starts where the previous ended.</summary>
    public static void AssertContiguous(IReadOnlyList<JsonElement> segments)
    {
        for (var i = 0; i < segments.Count; i++)
        {
            Assert.Equal(i + 1, segments[i].GetProperty("segmentId").GetInt64());
            if (i > 0)
            {
                Assert.Equal(segments[i - 1].GetProperty("endPosition").GetRawText(), segments[i].GetProperty("startPosition").GetRawText());
                Assert.True(segments[i - 1].GetProperty("endTs").GetUInt64() <= segments[i].GetProperty("beginTs").GetUInt64());
            }
        }
    }

    /// <summary>
    /// The wire form of an archived msg as the segment route answers it: a payload msg's bytes, or the Insert or Flush
    /// (the typed msgs these tests produce) rebuilt from its JSON body, to compare with what was produced.
    /// </summary>
    private static byte[] WireOf(JsonElement msg)
    {
        if (msg.TryGetProperty("payload", out var payload))
        {
            return payload.GetBytesFromBase64();
        }
        TsMsg rebuilt = msg.GetProperty("msgType").GetString() switch
        {
            "Insert" when msg.GetProperty("insert") is var insert => new InsertMsg
            {
                CollectionName = insert.GetProperty("collectionName").GetString()!,
                PartitionName = insert.GetProperty("partitionName").GetString()!,
                SegmentId = insert.GetProperty("segmentId").GetInt64(),
                Rows = [.. insert.GetProperty("rows").EnumerateArray().Select(r => new InsertRowData(
                    r.GetProperty("rowId").GetInt64(), r.GetProperty("timestamp").GetUInt64(), r.GetProperty("hashKey").GetUInt32(), r.GetProperty("data").GetBytesFromBase64()))],
            },
            "Flush" when msg.GetProperty("flush") is var flush => new FlushMsg
            {
                CollectionName = flush.GetProperty("collectionName").GetString()!,
                SegmentIds = [.. flush.GetProperty("segmentIds").EnumerateArray().Select(s => s.GetInt64())],
            },
            var type => throw new InvalidOperationException($"The archive tests produce no typed {type} msg."),
        };
        rebuilt.Id = msg.GetProperty("id").GetInt64();
        rebuilt.BeginTs = msg.GetProperty("beginTs").GetUInt64();
        rebuilt.EndTs = msg.GetProperty("endTs").GetUInt64();
        return rebuilt.Marshal();
    }

    private async Task ProduceAsync(HttpClient client, string channel, List<TsMsg> msgs)
    {
        var tick = TimeTickMsg.At(NextTs());
        var payloads = msgs.Append(tick).Select(m => new { payload = m.Marshal() }).ToArray();
        using var response = await client.PostAsJsonAsync($"/api/v1/channels/{channel}/messages", new { messages = payloads });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        if (!_produced.TryGetValue(channel, out var list))
        {
            list = [];
            _produced[channel] = list;
        }
        list.AddRange(msgs.Select(m => (m.Id, m.Marshal())));
    }

    private ulong NextTs() => ++_ts;
}
