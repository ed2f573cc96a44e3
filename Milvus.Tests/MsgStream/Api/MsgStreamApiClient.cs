using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Milvus.Tests.MsgStream.Api;

/// <summary>A msg as the msgstream routes answer it.</summary>
public sealed record WireMsg(string MsgType, long Id, ulong BeginTs, ulong EndTs, uint[] HashKeys, byte[]? Payload, JsonElement? Insert = null, JsonElement? Delete = null, JsonElement? TimeTick = null)
{
    /// <summary>The payload as UTF-8 text (a typed msg has none).</summary>
    public string Text => Encoding.UTF8.GetString(Payload ?? throw new InvalidOperationException($"The {MsgType} msg {Id} has a typed body, not a payload."));
}

/// <summary>A position as the msgstream routes answer it.</summary>
public sealed record WirePosition(string ChannelName, long MsgId, string MsgGroup, ulong Timestamp);

/// <summary>A pack as the msgstream routes answer it.</summary>
public sealed record WirePack(ulong BeginTs, ulong EndTs, WireMsg[] Msgs, WirePosition[] StartPositions, WirePosition[] EndPositions);

/// <summary>The answer of produce and broadcast.</summary>
public sealed record WirePositions(WirePosition[] Positions);

/// <summary>Calls the msgstream routes of a gateway under test.</summary>
internal sealed class MsgStreamApiClient(HttpClient client)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    public HttpClient Http => client;

    public static object Msg(string text, uint key, string type = "Search") =>
        new { msgType = type, hashKeys = new[] { key }, payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(text)) };

    public async Task CreateChannelsAsync(params string[] channels)
    {
        foreach (var channel in channels)
        {
            Assert.Equal(HttpStatusCode.Created, (await client.PutAsync($"/api/v1/channels/{channel}", null)).StatusCode);
        }
    }

    public async Task<WirePosition[]> ProduceAsync(string[] channels, IEnumerable<object> msgs, string route = "produce")
    {
        var response = await client.PostAsJsonAsync($"/api/v1/msgstream/{route}", new { channels, msgs });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<WirePositions>())!.Positions;
    }

    public async Task<WirePack> ConsumeAsync(string[] channels, string subName, bool timeTickAligned = true, int waitMs = 200, string? position = null)
    {
        var response = await client.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels, subName, timeTickAligned, waitMs, position });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<WirePack>())!;
    }

    /// <summary>Consumes until <paramref name="done"/> holds for the msgs so far; returns the non-empty packs, in order.</summary>
    public async Task<List<WirePack>> ConsumeUntilAsync(string[] channels, string subName, Func<IReadOnlyList<WireMsg>, bool> done, bool timeTickAligned = true, string? position = null)
    {
        var packs = new List<WirePack>();
        var msgs = new List<WireMsg>();
        var clock = Stopwatch.StartNew();
        while (!done(msgs))
        {
            Assert.True(clock.Elapsed < Timeout, $"Only {msgs.Count} msgs arrived in time.");
            var pack = await ConsumeAsync(channels, subName, timeTickAligned, 500, position);
            if (pack.Msgs.Length > 0)
            {
                packs.Add(pack);
                msgs.AddRange(pack.Msgs);
            }
        }
        return packs;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, checking every few milliseconds, up to <see cref="Timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Timeout, $"Timed out waiting until {what}.");
            await Task.Delay(10);
        }
    }
}
