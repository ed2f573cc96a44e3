using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using dotnet_etcd;
using Grpc.Net.Client;
using Milvus.Domain.Kv.Etcd;

namespace Milvus.Benchmarks.Kv;

/// <summary>
/// Save, Load and LoadWithPrefix with 1 KiB values through <see cref="EtcdKv"/>, each next to the raw dotnet-etcd
/// client's own string call for the same request (<c>PutAsync</c>, <c>GetValAsync</c>, <c>GetRangeValAsync</c>; the
/// baseline of its category), both with 64 requests in flight, against the etcd at
/// <c>MILVUS_BENCH_ETCD_ENDPOINTS</c> (or <c>MILVUS_TEST_ETCD_ENDPOINTS</c>).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 20)]
public class EtcdKvBenchmarks
{
    private const int InFlight = 64;
    private const int Operations = 512;
    private const int PrefixKeys = 16;

    private readonly string _root = $"bench-{Guid.NewGuid():N}";
    private readonly string _value = new('v', 1024);
    private GrpcChannel _rawChannel = null!;
    private EtcdClient _raw = null!;
    private GrpcChannel _kvChannel = null!;
    private EtcdClient _rawOnKvChannel = null!;
    private EtcdKv _kv = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var endpoints = Environment.GetEnvironmentVariable("MILVUS_BENCH_ETCD_ENDPOINTS") is { Length: > 0 } bench
            ? bench
            : Environment.GetEnvironmentVariable("MILVUS_TEST_ETCD_ENDPOINTS") is { Length: > 0 } test
                ? test
                : throw new InvalidOperationException("Set MILVUS_BENCH_ETCD_ENDPOINTS to an etcd to measure against.");
        _rawChannel = GrpcChannel.ForAddress(endpoints.Split(',')[0]);
        _raw = new EtcdClient(_rawChannel.CreateCallInvoker());
        _kvChannel = EtcdChannels.Create(endpoints, TimeSpan.FromSeconds(5));
        _rawOnKvChannel = new EtcdClient(_kvChannel.CreateCallInvoker());
        _kv = new EtcdKv(endpoints, _root);
        for (var i = 0; i < InFlight; i++)
        {
            await _kv.SaveAsync(Key(i), _value);
        }
        for (var i = 0; i < PrefixKeys; i++)
        {
            await _kv.SaveAsync($"prefix/{i:D2}", _value);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _kv.RemoveWithPrefixAsync("");
        await _kv.DisposeAsync();
        _raw.Dispose();
        _rawChannel.Dispose();
        _rawOnKvChannel.Dispose();
        _kvChannel.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Save")]
    public Task EtcdKvSave() => InFlightAsync(i => _kv.SaveAsync(Key(i), _value));

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Save")]
    public Task RawSave() => InFlightAsync(i => _raw.PutAsync(_root + "/" + Key(i), _value));

    /// <summary>The raw call with the 5 s deadline EtcdKv puts on every request, to show what the deadline costs.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Save")]
    public Task RawSaveWithDeadline() => InFlightAsync(i => _raw.PutAsync(_root + "/" + Key(i), _value, null, DateTime.UtcNow.AddSeconds(5)));

    /// <summary>The raw call on EtcdKv's channel (no retries, several HTTP/2 connections), to show what the channel costs.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Save")]
    public Task RawSaveOnEtcdKvChannel() => InFlightAsync(i => _rawOnKvChannel.PutAsync(_root + "/" + Key(i), _value));

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Load")]
    public Task RawLoad() => InFlightAsync(i => _raw.GetValAsync(_root + "/" + Key(i)));

    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Load")]
    public Task EtcdKvLoad() => InFlightAsync(i => _kv.LoadAsync(Key(i)));

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    [BenchmarkCategory("LoadWithPrefix")]
    public Task RawLoadWithPrefix() => InFlightAsync(_ => _raw.GetRangeValAsync(_root + "/prefix/"));

    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("LoadWithPrefix")]
    public Task EtcdKvLoadWithPrefix() => InFlightAsync(_ => _kv.LoadWithPrefixAsync("prefix/"));

    private static string Key(int i) => $"key/{i % InFlight:D2}";

    /// <summary>Runs <see cref="Operations"/> calls of <paramref name="operation"/>, <see cref="InFlight"/> at a time.</summary>
    private static Task InFlightAsync(Func<int, Task> operation)
    {
        var next = -1;
        return Task.WhenAll(Enumerable.Range(0, InFlight).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Operations)
            {
                await operation(i);
            }
        }));
    }
}
