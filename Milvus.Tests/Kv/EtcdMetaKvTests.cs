using System.Net;
using System.Net.Sockets;
using dotnet_etcd;
using Etcdserverpb;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Etcd;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Kv;

/// <summary>The <see cref="IMetaKv"/> contract on the real etcd that scripts/test.sh starts.</summary>
public sealed class EtcdMetaKvTests : MetaKvContractTests
{
    protected override Task<IMetaKv> OpenAsync(string root) => Task.FromResult<IMetaKv>(new EtcdKv(TestServers.EtcdEndpoints, root));

    // etcd's clock runs by itself: the lease tests wait on the outcome instead.
    protected override void AdvanceTime(TimeSpan by)
    {
    }

    protected override async Task CompactAsync(long revision)
    {
        using var channel = EtcdChannels.Create(TestServers.EtcdEndpoints, TimeSpan.FromSeconds(5));
        using var client = new EtcdClient(channel.CreateCallInvoker());
        await client.CompactAsync(new CompactionRequest { Revision = revision, Physical = true });
    }

    [Fact]
    public async Task AnEtcdOnAClosedPortFailsFastWithUnavailable()
    {
        var endpoint = $"http://127.0.0.1:{ClosedPort()}";
        await using var kv = new EtcdKv(endpoint, "closed", TimeSpan.FromSeconds(2));

        await AssertUnavailableAsync(() => kv.LoadAsync("a"));
        await AssertUnavailableAsync(() => kv.SaveAsync("a", "1"));
        await AssertUnavailableAsync(() => kv.MultiSaveAndRemoveAsync(new Dictionary<string, string> { ["a"] = "1" }, ["b"]));
        await AssertUnavailableAsync(() => kv.GrantAsync(5));
        await AssertUnavailableAsync(() => kv.CompareVersionAndSwapAsync("a", 0, "1"));
        await AssertUnavailableAsync(async () => await kv.WatchWithPrefixAsync("a").GetAsyncEnumerator().MoveNextAsync());
        await AssertUnavailableAsync(async () => await kv.KeepAliveAsync(1).GetAsyncEnumerator().MoveNextAsync());
    }

    [Fact]
    public async Task TwoStoresWithDifferentRootsDoNotSeeEachOther()
    {
        await using var other = new EtcdKv(TestServers.EtcdEndpoints, Root + "-other");
        await Kv.SaveAsync("shared-name", "mine");
        await other.SaveAsync("shared-name", "theirs");

        Assert.Equal("mine", await Kv.LoadAsync("shared-name"));
        Assert.Equal(["shared-name"], (await other.LoadWithPrefixAsync("")).Keys);
        await other.RemoveWithPrefixAsync("");
    }

    private static async Task AssertUnavailableAsync(Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<KvUnavailableException>(() => call().WaitAsync(Patience));
        Assert.Equal("etcd", error.Backend);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
