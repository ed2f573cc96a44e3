using System.Net;
using System.Net.Http.Json;
using Milvus.Tests.Api;
using Milvus.Tests.Infrastructure;
using Milvus.Tests.MsgStream.Api;

namespace Milvus.Tests.Hardening;

/// <summary>
/// The gateway on etcd while etcd is frozen (kill -STOP) in the middle of a msgstream consume, whose answer stores
/// the subscription's checkpoint in etcd: whatever that call answers, once etcd goes on the subscription has skipped
/// nothing and repeated nothing it answered.
/// </summary>
public sealed class FrozenEtcdTests
{
    [Fact]
    public async Task AConsumeDuringAnEtcdFreezeNeitherSkipsNorRepeatsWhatItAnswered()
    {
        await using var etcd = await PrivateEtcd.StartAsync();
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Kv:Backend"] = "etcd",
            ["Milvus:Etcd:Endpoints"] = etcd.Endpoint,
            ["Milvus:Etcd:RootPath"] = "frozen-" + Guid.NewGuid().ToString("N"),
        });
        using var http = factory.CreateClient();
        http.Timeout = TimeSpan.FromSeconds(60);
        var api = new MsgStreamApiClient(http);
        await api.CreateChannelsAsync("fe");
        await api.ProduceAsync(["fe"], [MsgStreamApiClient.Msg("a", 0), MsgStreamApiClient.Msg("b", 0)]);
        await api.ConsumeUntilAsync(["fe"], "s", msgs => msgs.Count >= 2, timeTickAligned: false);
        await api.ProduceAsync(["fe"], [MsgStreamApiClient.Msg("c", 0), MsgStreamApiClient.Msg("d", 0)]);

        HttpResponseMessage during;
        await etcd.FreezeAsync();
        try
        {
            during = await http.PostAsJsonAsync("/api/v1/msgstream/consume", new { channels = new[] { "fe" }, subName = "s", timeTickAligned = false, waitMs = 200 });
        }
        finally
        {
            await etcd.ThawAsync();
        }

        var answered = new List<string>();
        if (during.StatusCode == HttpStatusCode.OK)
        {
            answered.AddRange((await during.Content.ReadFromJsonAsync<WirePack>())!.Msgs.Select(m => m.Text));
        }
        else
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, during.StatusCode);
            Assert.Equal("application/problem+json", during.Content.Headers.ContentType?.MediaType);
        }
        if (!answered.Contains("d"))
        {
            var rest = await api.ConsumeUntilAsync(["fe"], "s", msgs => answered.Concat(msgs.Select(m => m.Text)).Contains("d"), timeTickAligned: false);
            answered.AddRange(rest.SelectMany(p => p.Msgs).Select(m => m.Text));
        }
        Assert.Equal(["c", "d"], answered);
    }
}
