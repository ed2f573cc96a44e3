using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Minio;
using Milvus.Domain.Kv.Redis;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Kv;

/// <summary>The network backends: a server that is down fails fast with a typed error, and setup steps work.</summary>
public sealed class RemoteKvTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ARedisThatIsDownFailsWithKvUnavailable()
    {
        await using var kv = await RedisKv.ConnectAsync($"127.0.0.1:{KvTestBackends.ClosedPort()}", "down").WaitAsync(Bound);
        var load = await Assert.ThrowsAsync<KvUnavailableException>(() => kv.LoadAsync("k").WaitAsync(Bound));
        Assert.Equal("redis", load.Backend);
        await Assert.ThrowsAsync<KvUnavailableException>(() => kv.SaveAsync("k", "v").WaitAsync(Bound));
        await Assert.ThrowsAsync<KvUnavailableException>(() => kv.LoadWithPrefixAsync("").WaitAsync(Bound));
        await Assert.ThrowsAsync<KvUnavailableException>(() => kv.PingAsync().WaitAsync(Bound));
    }

    [Fact]
    public async Task ReachableServersAnswerAPing()
    {
        await using var redis = await RedisKv.ConnectAsync(TestServers.Redis, "ping");
        Assert.True(await redis.PingAsync() >= TimeSpan.Zero);
        await using var minio = await MinioKv.OpenAsync(KvTestBackends.S3Options(), "ping");
        await minio.PingAsync();
        Assert.Equal(0, (await minio.LoadWithPrefixAsync("")).Count);
    }

    [Fact]
    public async Task AMinioThatIsDownFailsWithKvUnavailable()
    {
        var options = KvTestBackends.S3Options(endpoint: $"127.0.0.1:{KvTestBackends.ClosedPort()}");
        var error = await Assert.ThrowsAsync<KvUnavailableException>(() => MinioKv.OpenAsync(options, "down").WaitAsync(Bound));
        Assert.Equal("minio", error.Backend);
    }

    [Fact]
    public async Task MinioCreatesAMissingBucket()
    {
        var bucket = $"kv-{Guid.NewGuid():N}";
        await using var kv = await MinioKv.OpenAsync(KvTestBackends.S3Options(bucket: bucket), "root");
        await kv.SaveAsync("k", "v");
        Assert.Equal("v", await kv.LoadAsync("k"));
        await using var again = await MinioKv.OpenAsync(KvTestBackends.S3Options(bucket: bucket), "root");
        Assert.Equal("v", await again.LoadAsync("k"));
    }

    [Fact]
    public async Task RedisKeepsEveryKeyUnderTheRootPath()
    {
        var root = $"rooted-{Guid.NewGuid():N}";
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(RedisKv.FailFast(TestServers.Redis));
        await using (var kv = new RedisKv(connection, root))
        {
            await kv.MultiSaveAsync(new Dictionary<string, string> { ["a"] = "1", ["b/c"] = "2" });
        }
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var names = server.Keys(pattern: $"*{root}*").Select(k => (string)k!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([$"{{{root}/}}index", $"{{{root}/}}values", $"{{{root}/}}version"], names);
        Assert.True(connection.IsConnected);
    }
}
