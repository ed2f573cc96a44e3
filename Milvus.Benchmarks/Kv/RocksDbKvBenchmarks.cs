using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Milvus.Domain.Kv.RocksDb;
using RocksDbSharp;

namespace Milvus.Benchmarks.Kv;

/// <summary>
/// RocksDbKv next to the raw RocksDB client on the same machine and in the same run: Save (one WriteBatch per
/// put), Load and a 100-key LoadWithPrefix, with 1 KiB values. The raw side also converts string keys and values
/// to UTF-8, as any caller with string keys must.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class RocksDbKvBenchmarks
{
    private const int Keys = 1000;
    private const int PrefixKeys = 100;
    private static readonly string Value = new('v', 1024);

    private string _directory = null!;
    private RocksDbKv _kv = null!;
    private RocksDbSharp.RocksDb _raw = null!;
    private readonly WriteOptions _writeOptions = new WriteOptions().SetSync(false);
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("milvus-bench-rocksdb-").FullName;
        _kv = RocksDbKv.Open(Path.Combine(_directory, "kv"), "bench");
        _raw = RocksDbSharp.RocksDb.Open(new DbOptions().SetCreateIfMissing(true).IncreaseParallelism(Math.Max(2, Environment.ProcessorCount)), Path.Combine(_directory, "raw"));
        for (var i = 0; i < Keys; i++)
        {
            _kv.SaveAsync(KeyOf(i), Value).GetAwaiter().GetResult();
            RawSave(KeyOf(i));
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _kv.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _raw.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [BenchmarkCategory("Save"), Benchmark(Baseline = true)]
    public void RawSave() => RawSave(KeyOf(Next()));

    [BenchmarkCategory("Save"), Benchmark]
    public Task KvSave() => _kv.SaveAsync(KeyOf(Next()), Value);

    [BenchmarkCategory("Load"), Benchmark(Baseline = true)]
    public string RawLoad() => Encoding.UTF8.GetString(_raw.Get(Encoding.UTF8.GetBytes("bench/" + KeyOf(Next()))));

    [BenchmarkCategory("Load"), Benchmark]
    public Task<string> KvLoad() => _kv.LoadAsync(KeyOf(Next()));

    [BenchmarkCategory("LoadWithPrefix"), Benchmark(Baseline = true)]
    public int RawLoadWithPrefix()
    {
        var prefix = Encoding.UTF8.GetBytes("bench/" + PrefixOf(Next()));
        var end = (byte[])prefix.Clone();
        end[^1]++;
        var keys = new List<string>();
        var values = new List<string>();
        using var iterator = _raw.NewIterator(readOptions: new ReadOptions().SetIterateUpperBound(end));
        for (iterator.Seek(prefix); iterator.Valid(); iterator.Next())
        {
            keys.Add(Encoding.UTF8.GetString(iterator.GetKeySpan()));
            values.Add(Encoding.UTF8.GetString(iterator.GetValueSpan()));
        }
        return keys.Count;
    }

    [BenchmarkCategory("LoadWithPrefix"), Benchmark]
    public async Task<int> KvLoadWithPrefix() => (await _kv.LoadWithPrefixAsync(PrefixOf(Next()))).Count;

    private void RawSave(string key)
    {
        using var batch = new WriteBatch();
        batch.Put(Encoding.UTF8.GetBytes("bench/" + key), Encoding.UTF8.GetBytes(Value));
        _raw.Write(batch, _writeOptions);
    }

    private int Next() => _next = (_next + 1) % Keys;

    private static string KeyOf(int i) => $"p{i / PrefixKeys}/k{i:D4}";

    private static string PrefixOf(int i) => $"p{i % (Keys / PrefixKeys)}/";
}
