using BenchmarkDotNet.Attributes;
using Milvus.Domain.Params;

namespace Milvus.Benchmarks.Params;

/// <summary>
/// Parameter lookups through the layered table, next to a plain dictionary lookup as the baseline.
/// </summary>
[MemoryDiagnoser]
public class ParamTableBenchmarks
{
    private readonly Dictionary<string, string> _plain = new(StringComparer.Ordinal);
    private BaseTable _table = null!;

    [GlobalSetup]
    public void Setup()
    {
        _table = new BaseTable();
        var pairs = Enumerable.Range(0, 1000).Select(i => new KeyValuePair<string, string>($"section{i % 10}.key{i}", i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        _table.LoadFromKVPair(pairs);
        foreach (var (k, v) in pairs)
        {
            _plain[k] = v;
        }
    }

    [Benchmark(Baseline = true)]
    public string DictionaryLookup() => _plain["section7.key507"];

    [Benchmark]
    public string TableLoad() => _table.Load("section7.key507");

    [Benchmark]
    public int TableParseInt() => _table.ParseInt("section7.key507");
}
