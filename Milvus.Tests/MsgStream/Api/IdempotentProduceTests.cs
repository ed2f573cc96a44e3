using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Tests.Api;

namespace Milvus.Tests.MsgStream.Api;

/// <summary>
/// The Idempotency-Key of msgstream produce and broadcast: a retry answers the first call's positions (msg ids and
/// TSO timestamps) and stores nothing, and a key reused for another body is a 422 that changes no channel.
/// </summary>
public sealed class IdempotentProduceTests : IDisposable
{
    private readonly GatewayFactory _factory = new(new Dictionary<string, string?> { ["Milvus:TimeTick:IntervalMs"] = "50" });
    private readonly MsgStreamApiClient _api;

    public IdempotentProduceTests() => _api = new MsgStreamApiClient(_factory.CreateClient());

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task ARetriedProduceIntoTwoChannelsAnswersTheFirstPositionsAndStoresEachMsgOnce()
    {
        string[] channels = ["ik-a", "ik-b"];
        await _api.CreateChannelsAsync(channels);
        var body = new { channels, msgs = new[] { MsgStreamApiClient.Msg("m0", 0), MsgStreamApiClient.Msg("m1", 1), MsgStreamApiClient.Msg("m2", 2) } };

        var first = await PostAsync("produce", body, "batch-1");
        var retry = await PostAsync("produce", body, "batch-1");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(["true"], retry.Headers.GetValues("Idempotent-Replayed"));
        var firstPositions = (await first.Content.ReadFromJsonAsync<WirePositions>())!.Positions;
        var retryPositions = (await retry.Content.ReadFromJsonAsync<WirePositions>())!.Positions;
        Assert.Equal(firstPositions, retryPositions);
        Assert.Equal(3, firstPositions.Select(p => p.Timestamp).Distinct().Count());
        Assert.Equal(["m0", "m2"], await ReadRawAsync("ik-a"));
        Assert.Equal(["m1"], await ReadRawAsync("ik-b"));
    }

    [Fact]
    public async Task AKeyReusedForABroadcastIntoMoreChannelsIsA422ThatWritesNoChannel()
    {
        await _api.CreateChannelsAsync("ik-c", "ik-d");
        var once = await PostAsync("produce", new { channels = new[] { "ik-c" }, msgs = new[] { MsgStreamApiClient.Msg("c0", 0) } }, "shared-key");

        var reused = await PostAsync("broadcast", new { channels = new[] { "ik-d", "ik-c" }, msgs = new[] { MsgStreamApiClient.Msg("x", 0) } }, "shared-key");

        Assert.Equal(HttpStatusCode.OK, once.StatusCode);
        var problem = await GatewayBasicsTests.AssertProblem(reused, HttpStatusCode.UnprocessableEntity);
        Assert.Contains("shared-key", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var mq = _factory.Services.GetRequiredService<IMqClient>();
        Assert.Null(await mq.GetLatestMsgIdAsync("ik-d"));
        Assert.Equal(["c0"], await ReadRawAsync("ik-c"));
    }

    [Fact]
    public async Task ABadKeyIsA400AndWritesNothing()
    {
        await _api.CreateChannelsAsync("ik-e");

        var response = await PostAsync("produce", new { channels = new[] { "ik-e" }, msgs = new[] { MsgStreamApiClient.Msg("e", 0) } }, new string('k', 256));

        var problem = await GatewayBasicsTests.AssertProblem(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("Idempotency-Key", out _));
        Assert.Null(await _factory.Services.GetRequiredService<IMqClient>().GetLatestMsgIdAsync("ik-e"));
    }

    private Task<HttpResponseMessage> PostAsync(string route, object body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/msgstream/{route}") { Content = JsonContent.Create(body) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return _api.Http.SendAsync(request);
    }

    /// <summary>The stream msgs' texts on a channel, read raw through a fresh group, in queue order (time ticks left out).</summary>
    private async Task<List<string>> ReadRawAsync(string channel)
    {
        var mq = _factory.Services.GetRequiredService<IMqClient>();
        var group = $"raw-{Guid.NewGuid():N}";
        await mq.CreateConsumerGroupAsync(channel, group, MqStartPosition.Earliest);
        var read = await mq.ConsumeAsync(channel, group, 1000);
        var dispatcher = new UnmarshalDispatcher();
        return [.. read.Select(m => dispatcher.Unmarshal(m.Payload.Span)).OfType<PayloadMsg>().Select(m => Encoding.UTF8.GetString(m.Payload.Span))];
    }
}
