using System.Net;
using System.Net.Sockets;
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

    protected override Task CompactAsync(long revision) => EtcdAdmin.CompactAsync(TestServers.EtcdEndpoints, revision);

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
    public async Task AnEtcdThatAcceptsConnectionsButNeverAnswersFailsWithUnavailableAtTheDeadline()
    {
        using var silent = SilentListener();
        await using var kv = new EtcdKv(Endpoint(silent), "hung", TimeSpan.FromSeconds(1));
        using var callerCanCancel = new CancellationTokenSource();

        await AssertUnavailableAsync(() => kv.SaveAsync("a", "1"));
        await AssertUnavailableAsync(() => kv.LoadAsync("a", callerCanCancel.Token));
        await AssertUnavailableAsync(() => kv.LoadWithPrefixAsync("a"));
        await AssertUnavailableAsync(async () => await kv.WatchWithPrefixAsync("a").GetAsyncEnumerator().MoveNextAsync());
        Assert.False(callerCanCancel.IsCancellationRequested);
    }

    [Fact]
    public async Task ACallerCancellingARequestToAHungEtcdGetsCancellationNotUnavailable()
    {
        using var silent = SilentListener();
        await using var kv = new EtcdKv(Endpoint(silent), "hung", TimeSpan.FromMinutes(5));
        using var caller = new CancellationTokenSource();

        var save = kv.SaveAsync("a", "1", caller.Token);
        await caller.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => save.WaitAsync(Patience));
    }

    [Fact]
    public async Task WhenEtcdStopsWatchesAndKeepAlivesFailWithUnavailableAndTheStoreRecoversWhenItReturns()
    {
        await using var etcd = await PrivateEtcd.StartAsync();
        await using var kv = new EtcdKv(etcd.Endpoint, "outage", TimeSpan.FromSeconds(2));
        var lease = await EventuallyAsync(() => kv.GrantAsync(6));
        var listed = await kv.LoadWithRevisionAsync("");
        await using var watch = kv.WatchWithRevisionAsync("", listed.Revision + 1).GetAsyncEnumerator();
        var watchNext = watch.MoveNextAsync().AsTask();
        await using var keepAlive = kv.KeepAliveAsync(lease).GetAsyncEnumerator();
        Assert.True(await keepAlive.MoveNextAsync());

        await etcd.StopAsync();

        await Assert.ThrowsAsync<KvUnavailableException>(() => watchNext.WaitAsync(Patience));
        await Assert.ThrowsAsync<KvUnavailableException>(() => DrainAsync(keepAlive).WaitAsync(Patience));
        await Assert.ThrowsAsync<KvUnavailableException>(() => kv.LoadAsync("a").WaitAsync(Patience));

        await etcd.StartAgainAsync();
        await EventuallyAsync(async () =>
        {
            await kv.SaveAsync("a", "back");
            return true;
        });
        Assert.Equal("back", await kv.LoadAsync("a"));
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

    private static async Task DrainAsync<T>(IAsyncEnumerator<T> enumerator)
    {
        while (await enumerator.MoveNextAsync())
        {
        }
    }

    /// <summary>Retries <paramref name="call"/> while etcd is unavailable, until it succeeds or patience runs out.</summary>
    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> call)
    {
        using var patience = new CancellationTokenSource(Patience);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        while (true)
        {
            try
            {
                return await call();
            }
            catch (KvUnavailableException) when (!patience.IsCancellationRequested)
            {
                await poll.WaitForNextTickAsync(patience.Token);
            }
        }
    }

    /// <summary>A port where the kernel completes the handshakes for the backlog, and nothing ever reads or answers.</summary>
    private static TcpListener SilentListener()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return listener;
    }

    private static string Endpoint(TcpListener listener) => $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";

    private static int ClosedPort() => LoopbackPorts.Unused();
}
