using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using dotnet_etcd;
using Grpc.Net.Client;
using Milvus.Domain.Kv.Etcd;

namespace Milvus.Benchmarks.Kv;

/// <summary>
/// Save, Load and LoadWithPrefix with 1 KiB values through <see cref="EtcdKv"/>, each next to the raw dotnet-etcd
/// client's own string call for the same request (<c>PutAsync</c>, <c>GetValAsync</c>, <c>GetRangeValAsync</c>; the
/// baseline of its category), on the same keys and values, with the same number of requests in flight (one at a
/// time, and 64 as issue 3 asks), against the etcd at <c>MILVUS_BENCH_ETCD_ENDPOINTS</c> (or
/// <c>MILVUS_TEST_ETCD_ENDPOINTS</c>). The job comes from the command line (e.g. <c>--job short --inProcess</c>).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
[MedianColumn]
public class EtcdKvBenchmarks
{
    private const int Keys = 64;
    private const int Operations = 512;
    private const int PrefixKeys = 16;

    private readonly string _root = $"bench-{Guid.NewGuid():N}";
    private readonly string _value = new('v', 1024);
    private GrpcChannel _rawChannel = null!;
    private EtcdClient _raw = null!;
    private EtcdDeadline _sharedDeadline = null!;
    private EtcdKv _kv = null!;

    /// <summary>Requests in flight: each of this many callers starts its next request when its last one ends.</summary>
    [Params(1, 64)]
    public int InFlight { get; set; }

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
        _sharedDeadline = new EtcdDeadline(TimeSpan.FromSeconds(5));
        _kv = new EtcdKv(endpoints, _root);
        for (var i = 0; i < Keys; i++)
        {
            await _kv.SaveAsync(Key(i), _value);
        }
        for (var i = 0; i < PrefixKeys; i++)
        {
            await _kv.SaveAsync($"prefix/{i:D2}", _value);
        }
        // Warm etcd's write path (WAL, bbolt pages) on both clients, so that the first Save measured does not pay for it.
        await InFlightAsync(i => _raw.PutAsync(_root + "/" + Key(i), _value));
        await InFlightAsync(i => _kv.SaveAsync(Key(i), _value));
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _kv.RemoveWithPrefixAsync("");
        await _kv.DisposeAsync();
        _raw.Dispose();
        _rawChannel.Dispose();
        _sharedDeadline.Dispose();
    }

    // In every category the raw baseline is declared, and so runs, first, with the wrapper right after it.
    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Save")]
    public Task RawSave() => InFlightAsync(i => _raw.PutAsync(_root + "/" + Key(i), _value));

    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Save")]
    public Task EtcdKvSave() => InFlightAsync(i => _kv.SaveAsync(Key(i), _value));

    /// <summary>The raw call with a 5 s gRPC deadline (a timer per call and a <c>grpc-timeout</c> header), as EtcdKv had before.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Save")]
    public Task RawSaveWithGrpcDeadline() => InFlightAsync(i => _raw.PutAsync(_root + "/" + Key(i), _value, null, DateTime.UtcNow.AddSeconds(5)));

    /// <summary>The raw call with the shared 5 s deadline token EtcdKv now uses, to show what that deadline costs.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Save")]
    public Task RawSaveWithSharedDeadline() => InFlightAsync(i => _raw.PutAsync(_root + "/" + Key(i), _value, null, null, _sharedDeadline.Token));

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

    private static string Key(int i) => $"key/{i % Keys:D2}";

    /// <summary>Runs <see cref="Operations"/> calls of <paramref name="operation"/>, <see cref="InFlight"/> at a time.</summary>
    private Task InFlightAsync(Func<int, Task> operation)
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
