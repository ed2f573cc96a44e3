using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Milvus.Domain.Archive;
using Milvus.Domain.Kv.LocalFs;
using Milvus.Domain.Kv.Memory;
using Milvus.Domain.MsgStream;

namespace Milvus.Benchmarks.Archive;

/// <summary>
/// Archiver throughput: time-ticked packs of one-row 1 KiB Inserts go through the archiving graph (input → buffer →
/// segment writer, 1 MiB segments, one meta txn per segment) into a local-disk object store. The baseline puts the
/// same segment objects (the same bytes, encoded beforehand) through the same <see cref="LocalFsKv"/> client.
/// MB/s = <see cref="TotalObjectBytes"/> / time.
/// </summary>
[MemoryDiagnoser]
public class ArchiverBenchmarks
{
    private const int MsgsPerPack = 100;
    private const int RowBytes = 1024;
    private const long SegmentBytes = 1024 * 1024;

    private readonly List<MsgPack> _packs = [];
    private readonly List<string> _objects = [];
    private string _dir = "";
    private LocalFsKv _store = null!;

    [Params(10_000)]
    public int Messages { get; set; }

    /// <summary>The bytes of every segment object one run writes.</summary>
    public long TotalObjectBytes { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("milvus-archiver-bench-").FullName;
        _store = new LocalFsKv(_dir);
        var random = new Random(42);
        ulong ts = 1_000;
        long msgId = 0;
        for (var p = 0; p < Messages / MsgsPerPack; p++)
        {
            var begin = ts;
            var msgs = new List<TsMsg>(MsgsPerPack);
            for (var i = 0; i < MsgsPerPack; i++)
            {
                var data = new byte[RowBytes];
                random.NextBytes(data);
                ts++;
                msgs.Add(new InsertMsg { Id = ++msgId, BeginTs = ts, EndTs = ts, Rows = [new InsertRowData(msgId, ts, 0, data)] });
            }
            if (p == Messages / MsgsPerPack - 1)
            {
                msgs.Add(new FlushMsg { Id = ++msgId, BeginTs = ts, EndTs = ts });
            }
            ts++;
            _packs.Add(new MsgPack
            {
                BeginTs = begin,
                EndTs = ts,
                Msgs = msgs,
                StartPositions = [new MsgPosition("bench", p * 1000L, "archiver", begin)],
                EndPositions = [new MsgPosition("bench", (p + 1) * 1000L, "archiver", ts)],
            });
        }

        // The baseline's objects: the same segments the archiver cuts, encoded once here.
        var pending = new List<byte[]>();
        long bytes = 0;
        foreach (var msg in _packs.SelectMany(p => p.Msgs))
        {
            var wire = msg.Marshal();
            pending.Add(wire);
            bytes += sizeof(int) + wire.Length;
            if (bytes >= SegmentBytes)
            {
                _objects.Add(SegmentCodec.Encode(pending));
                pending.Clear();
                bytes = 0;
            }
        }
        if (pending.Count > 0)
        {
            _objects.Add(SegmentCodec.Encode(pending));
        }
        TotalObjectBytes = _objects.Sum(o => (long)o.Length);
        Console.WriteLine($"// {_objects.Count} segment objects, {TotalObjectBytes} bytes per run");
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(Baseline = true)]
    public async Task RawObjectPuts()
    {
        for (var i = 0; i < _objects.Count; i++)
        {
            await _store.SaveAsync($"raw/{i:D20}.seg", _objects[i]);
        }
    }

    [Benchmark]
    public async Task<long> ArchivingGraph()
    {
        var catalog = new SegmentCatalog(new MemoryKv(), _store);
        var options = new ArchiveOptions { MaxSegmentBytes = SegmentBytes, MaxSegmentMs = int.MaxValue };
        var source = Channel.CreateBounded<MsgPack>(64);
        var built = ArchiveChannelGraph.BuildGraph("bench", source.Reader, catalog, checkpoint: null, options, TimeProvider.System);
        await using var graph = built.Graph;
        graph.Start();
        foreach (var pack in _packs)
        {
            await source.Writer.WriteAsync(pack);
        }
        source.Writer.Complete();
        await graph.Completion;
        return built.Writer.SegmentsWritten;
    }
}
