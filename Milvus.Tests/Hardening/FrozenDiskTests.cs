using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Milvus.Tests.Api;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Hardening;

/// <summary>
/// The embedded gateway with its data directory on a disk that stops answering (fsfreeze) mid-call, as a client with
/// its own timeout sees it: the client gives up without an answer, so the outcome is unknown to it. A produce retried
/// with its Idempotency-Key once the disk is back is stored once and answered with the first call's ids; a consume
/// whose client left has not lost its msgs: the next consume gets them.
/// </summary>
public sealed class FrozenDiskTests
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AProduceCutOffByAFrozenDiskIsStoredOnceWhenRetriedWithItsKeyAndALostConsumeComesAgain()
    {
        await using var disk = await FrozenDisk.MountAsync();
        using var factory = new GatewayFactory(new Dictionary<string, string?> { ["Milvus:DataDir"] = disk.Path });
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsJsonAsync("/api/v1/channels/disk", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/channels/disk/groups", new { groupName = "g" })).StatusCode);
        var before = await ProduceAsync(client, "before-freeze", "AQ==");
        Assert.False(before.Replayed);

        await disk.FreezeAsync();
        bool produceGaveUp, consumeGaveUp;
        try
        {
            produceGaveUp = await GivesUpAsync(token => client.SendAsync(Produce("cut-off", "Ag==", "Aw=="), token));
            consumeGaveUp = await GivesUpAsync(token => client.GetAsync("/api/v1/channels/disk/groups/g/messages?n=100", token));
        }
        finally
        {
            await disk.ThawAsync();
        }
        var retried = await ProduceAsync(client, "cut-off", "Ag==", "Aw==");

        Assert.True(produceGaveUp, "the produce answered while the disk was frozen");
        Assert.True(consumeGaveUp, "the consume answered while the disk was frozen");
        Assert.True(retried.Replayed, "the first call's batch was not stored once the disk was back");
        // Stored once: a group made now reads the first msg and the cut-off batch, each once.
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/channels/disk/groups", new { groupName = "audit" })).StatusCode);
        Assert.Equal([.. before.Ids, .. retried.Ids], await ConsumeAsync(client, "audit"));
        // The consume cut off by the freeze took the first msg, which its client never saw: the group went back, so g
        // gets it again. (g may also see the batch twice, if it read it before the gateway had moved it back.)
        var read = new List<long>();
        using var patience = new CancellationTokenSource(Patience);
        while (!read.Contains(before.Ids[0]) || !retried.Ids.All(read.Contains))
        {
            patience.Token.ThrowIfCancellationRequested();
            read.AddRange(await ConsumeAsync(client, "g"));
        }
    }

    private static HttpRequestMessage Produce(string key, params string[] payloads)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/channels/disk/messages")
        {
            Content = JsonContent.Create(new { messages = payloads.Select(p => new { payload = p }) }),
        };
        request.Headers.Add("Idempotency-Key", key);
        return request;
    }

    private static async Task<(long[] Ids, bool Replayed)> ProduceAsync(HttpClient client, string key, params string[] payloads)
    {
        var response = await client.SendAsync(Produce(key, payloads));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return ([.. body.RootElement.GetProperty("msgIds").EnumerateArray().Select(id => id.GetInt64())], response.Headers.Contains("Idempotent-Replayed"));
    }

    /// <summary>
    /// Whether the call got no answer within the client's timeout (and so the client gave up on it). The call starts
    /// on a thread of its own: the in-memory test server runs the gateway on the caller's thread up to its first
    /// await, and that thread may block in a write to the frozen disk.
    /// </summary>
    private static async Task<bool> GivesUpAsync(Func<CancellationToken, Task<HttpResponseMessage>> call)
    {
        using var timeout = new CancellationTokenSource(ClientTimeout);
        var answer = Task.Run(() => call(timeout.Token));
        try
        {
            using var response = await answer.WaitAsync(ClientTimeout * 2);
            return false;
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException && timeout.IsCancellationRequested)
        {
            return true;
        }
    }

    private static async Task<List<long>> ConsumeAsync(HttpClient client, string group)
    {
        var response = await client.GetAsync($"/api/v1/channels/disk/groups/{group}/messages?n=100&waitMs=200");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. body.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("msgId").GetInt64())];
    }
}
