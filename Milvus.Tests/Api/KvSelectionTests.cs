using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Embedded;
using Milvus.Domain.Kv.Etcd;
using Milvus.Domain.Kv.LocalFs;
using Milvus.Domain.Kv.Minio;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Api;

/// <summary>The configured backends are the ones the gateway runs on, and readiness follows them.</summary>
public sealed class KvSelectionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task TheEmbeddedDefaultsAreRocksDbMetaAndLocalObjectsUnderTheDataDir()
    {
        using var factory = new GatewayFactory();
        using var client = factory.CreateClient();

        var stores = factory.Services.GetRequiredService<KvStores>();
        Assert.IsType<EmbeddedMetaKv>(stores.Meta);
        Assert.IsType<LocalFsKv>(stores.Objects);
        Assert.Equal("rocksdb", stores.MetaBackend);
        await stores.Meta.SaveAsync("probe", "1");
        Assert.True(Directory.Exists(Path.Combine(factory.DataDir, "meta")));
        var ready = await ReadyAsync(client);
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Contains("meta-kv", ready.Checks);
        Assert.Contains("object-store", ready.Checks);
    }

    [Fact]
    public async Task EtcdAndMinioAreUsedWhenConfiguredAndReadinessChecksThem()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Kv:Backend"] = "etcd",
            ["Milvus:Etcd:Endpoints"] = TestServers.EtcdEndpoints,
            ["Milvus:Etcd:RootPath"] = $"selection-{Guid.NewGuid():N}",
            ["Milvus:ObjectStorage:Backend"] = "minio",
            ["Milvus:Minio:Endpoint"] = TestServers.S3Endpoint,
            ["Milvus:Minio:AccessKey"] = TestServers.S3AccessKey,
            ["Milvus:Minio:SecretKey"] = TestServers.S3SecretKey,
            ["Milvus:Minio:Bucket"] = $"selection-{Guid.NewGuid():N}"[..30],
        });
        using var client = factory.CreateClient();

        var stores = factory.Services.GetRequiredService<KvStores>();
        Assert.IsType<EtcdKv>(stores.Meta);
        Assert.IsType<MinioKv>(stores.Objects);
        var ready = await ReadyAsync(client);
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        await stores.Objects.SaveAsync("a/b", "object");
        Assert.Equal("object", await stores.Objects.LoadAsync("a/b"));
    }

    [Fact]
    public async Task ReadinessTurns503WhileEtcdIsDownAndRecoversByItself()
    {
        await using var etcd = await PrivateEtcd.StartAsync();
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Kv:Backend"] = "etcd",
            ["Milvus:Etcd:Endpoints"] = etcd.Endpoint,
        });
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await ReadyAsync(client)).Status);

        await etcd.StopAsync();
        var down = await ReadyAsync(client);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
        Assert.Contains("meta-kv", down.Failing);
        var meta = factory.Services.GetRequiredService<IMetaKv>();
        await Assert.ThrowsAsync<KvUnavailableException>(() => meta.LoadAsync("anything"));

        await etcd.StartAgainAsync();
        await WaitUntilAsync(async () => (await ReadyAsync(client)).Status == HttpStatusCode.OK);
    }

    [Fact]
    public async Task TheBucketIsMadeWhenTheObjectStoreStartsWithoutAnyReadinessProbe()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:ObjectStorage:Backend"] = "minio",
            ["Milvus:Minio:Endpoint"] = TestServers.S3Endpoint,
            ["Milvus:Minio:AccessKey"] = TestServers.S3AccessKey,
            ["Milvus:Minio:SecretKey"] = TestServers.S3SecretKey,
            ["Milvus:Minio:Bucket"] = $"unprobed-{Guid.NewGuid():N}"[..30],
        });
        using var client = factory.CreateClient();
        var objects = factory.Services.GetRequiredService<KvStores>().Objects;

        // No request to /health/ready: the first write finds the bucket there.
        await objects.SaveAsync("first/object", "written");

        Assert.Equal("written", await objects.LoadAsync("first/object"));
        Assert.Equal("Healthy", await RoleStateAsync(client, "object-store"));
    }

    [Fact]
    public async Task AnUnreachableObjectStoreIsNamedByReadiness()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:ObjectStorage:Backend"] = "minio",
            ["Milvus:Minio:Endpoint"] = "127.0.0.1:1",
        });
        using var client = factory.CreateClient();

        var ready = await ReadyAsync(client);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
        Assert.Equal(["object-store"], ready.Failing);
        Assert.Equal("Abnormal", await RoleStateAsync(client, "object-store"));
    }

    private static async Task<string> RoleStateAsync(HttpClient client, string role)
    {
        using var states = JsonDocument.Parse(await client.GetStringAsync("/api/v1/components/states"));
        return states.RootElement.GetProperty("subcomponentStates").EnumerateArray()
            .Single(c => c.GetProperty("role").GetString() == role).GetProperty("stateCode").GetString()!;
    }

    private static async Task<(HttpStatusCode Status, string[] Checks, string[] Failing)> ReadyAsync(HttpClient client)
    {
        var response = await client.GetAsync("/health/ready");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var checks = body.RootElement.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToArray();
        var failing = body.RootElement.GetProperty("failing").EnumerateArray().Select(c => c.GetString()!).ToArray();
        return (response.StatusCode, checks, failing);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (!await condition())
        {
            await Task.Delay(200, timeout.Token);
        }
    }
}
