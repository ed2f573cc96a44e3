using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Milvus.Domain.Kv;
using Milvus.Tests.Api;
using Milvus.Tests.Infrastructure;
using Milvus.Workers.Kv;

namespace Milvus.Tests.Hardening;

/// <summary>
/// A backend killed and restarted under load: the gateway answers 503 problems while it is down (never a 500,
/// never a hang), readiness names it, it recovers by itself, and nothing acknowledged before the stop is lost.
/// </summary>
public sealed class BackendRestartTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ARedisMetaStoreRestartedUnderLoadGives503sThenRecoversWithEveryAcknowledgedWrite()
    {
        await using var redis = await PrivateServer.StartRedisAsync();
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Kv:Backend"] = "redis",
            ["Milvus:Redis:Configuration"] = redis.Address,
        });
        using var client = factory.CreateClient();
        client.Timeout = TimeSpan.FromSeconds(30);
        var meta = factory.Services.GetRequiredService<IMetaKv>();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);

        var load = new IdLoad(client);
        var keys = new List<string>();
        await load.RunUntilAsync(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await meta.SaveAsync($"load/{i}", $"value-{i}");
                keys.Add($"load/{i}");
            }
            await redis.StopAsync();
            await Assert.ThrowsAsync<KvUnavailableException>(() => meta.SaveAsync("load/while-down", "x").WaitAsync(Patience));
            await WaitForAsync(() => load.Unavailable > 0, "a 503 from /api/v1/ids while Redis is down");
            var ready = await client.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("meta-kv", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            var okBefore = load.Succeeded;
            await redis.StartAgainAsync();
            await WaitForAsync(async () => (await client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK, "readiness after Redis is back");
            await WaitForAsync(() => load.Succeeded > okBefore + 3, "ids served again after Redis is back");
        });

        Assert.Empty(load.Broken);
        Assert.True(load.AllRangesAscend(), "an id range after the restart overlaps one issued before");
        foreach (var key in keys)
        {
            Assert.Equal(key.Replace("load/", "value-", StringComparison.Ordinal), await meta.LoadAsync(key));
        }
    }

    [Fact]
    public async Task AnS3ObjectStoreRestartedUnderWritesGivesUnavailableThenRecoversWithEveryAcknowledgedObject()
    {
        await using var s3 = await PrivateServer.StartS3rverAsync("milvus-bucket");
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:ObjectStorage:Backend"] = "minio",
            ["Milvus:Minio:Endpoint"] = s3.Address,
            ["Milvus:Minio:AccessKey"] = "S3RVER",
            ["Milvus:Minio:SecretKey"] = "S3RVER",
            ["Milvus:Minio:Bucket"] = "milvus-bucket",
            ["Milvus:Minio:UseSsl"] = "false",
        });
        using var client = factory.CreateClient();
        await WaitForAsync(async () => (await client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK, "readiness with s3rver up");
        var objects = factory.Services.GetRequiredKeyedService<IBaseKv>(KvServiceCollectionExtensions.ObjectStoreKey);

        // No HTTP route stores objects yet (segments will), so the load runs at the store that routes will use.
        var acknowledged = new ConcurrentDictionary<string, string>();
        var failures = new ConcurrentQueue<Exception>();
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var key = $"segments/{i:D6}";
                try
                {
                    await objects.SaveAsync(key, $"object-{i}").WaitAsync(Patience);
                    acknowledged[key] = $"object-{i}";
                }
                catch (KvUnavailableException ex)
                {
                    failures.Enqueue(ex);
                }
            }
        });
        await WaitForAsync(() => acknowledged.Count >= 20, "writes with s3rver up");
        await s3.StopAsync();
        await WaitForAsync(() => !failures.IsEmpty, "an unavailable error while s3rver is down");
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("object-store", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var beforeRestart = acknowledged.Count;
        await s3.StartAgainAsync();
        await WaitForAsync(async () => (await client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK, "readiness after s3rver is back");
        await WaitForAsync(() => acknowledged.Count > beforeRestart + 5, "writes after s3rver is back");
        await stop.CancelAsync();
        await writer;

        foreach (var (key, value) in acknowledged)
        {
            Assert.Equal(value, await objects.LoadAsync(key));
        }
    }

    private static Task WaitForAsync(Func<bool> condition, string what) => WaitForAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        using var patience = new CancellationTokenSource(Patience);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (!await condition())
        {
            if (!await poll.WaitForNextTickAsync(CancellationToken.None) || patience.IsCancellationRequested)
            {
                throw new TimeoutException($"Gave up after {Patience.TotalSeconds} s waiting for {what}.");
            }
        }
    }

    /// <summary>
    /// Asks for id ranges in a loop while a scenario runs. Every answer must be a 200 range or a 503 problem; a
    /// 500, another status or no answer within the client's timeout is broken.
    /// </summary>
    private sealed class IdLoad(HttpClient client)
    {
        private readonly List<(long Begin, long End)> _ranges = [];
        private int _succeeded;
        private int _unavailable;

        public ConcurrentQueue<string> Broken { get; } = new();

        public int Succeeded => Volatile.Read(ref _succeeded);

        public int Unavailable => Volatile.Read(ref _unavailable);

        public async Task RunUntilAsync(Func<Task> scenario)
        {
            using var stop = new CancellationTokenSource();
            var loop = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    await OneAsync();
                }
            });
            try
            {
                await scenario();
            }
            finally
            {
                await stop.CancelAsync();
                await loop;
            }
        }

        public bool AllRangesAscend()
        {
            lock (_ranges)
            {
                return _ranges.Zip(_ranges.Skip(1)).All(pair => pair.Second.Begin >= pair.First.End);
            }
        }

        private async Task OneAsync()
        {
            try
            {
                using var response = await client.PostAsJsonAsync("/api/v1/ids", new { count = 1_000_000 });
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    lock (_ranges)
                    {
                        _ranges.Add((body.RootElement.GetProperty("begin").GetInt64(), body.RootElement.GetProperty("end").GetInt64()));
                    }
                    Interlocked.Increment(ref _succeeded);
                }
                else if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    await GatewayBasicsTests.AssertProblem(response, HttpStatusCode.ServiceUnavailable);
                    Interlocked.Increment(ref _unavailable);
                }
                else
                {
                    Broken.Enqueue($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }
            }
            catch (TaskCanceledException ex)
            {
                Broken.Enqueue($"no answer within {client.Timeout.TotalSeconds} s: {ex.Message}");
            }
        }
    }
}
