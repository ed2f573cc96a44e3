using BenchmarkDotNet.Attributes;
using Milvus.Benchmarks.Mq;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Wire;

namespace Milvus.Benchmarks.MsgStream;

/// <summary>
/// Decoding alone: 1000 one-row 1 KiB Insert messages read back from RocksMQ, unmarshalled by the dispatcher and
/// parsed as bare protobuf envelopes, next to the raw RocksMQ read of the same 1000 messages (the baseline), so
/// the ratio says what decoding costs against reading.
/// </summary>
[MemoryDiagnoser]
public class MsgStreamDecodeBenchmarks
{
    private const string Channel = "decode";

    private readonly UnmarshalDispatcher _dispatcher = new();
    private RocksMqBench _bench = null!;
    private byte[][] _wire = null!;

    [GlobalSetup]
    public void Setup()
    {
        _bench = new RocksMqBench();
        _bench.CreateChannelAsync(Channel).GetAwaiter().GetResult();
        _bench.Mq.ProduceAsync(Channel, MsgStreamBench.Marshal(MsgStreamBench.Msgs(MsgStreamBench.PerTick, 1))).GetAwaiter().GetResult();
        _wire = [.. _bench.Mq.ConsumeAsync(Channel, "bench", MsgStreamBench.PerTick).GetAwaiter().GetResult().Select(m => m.Payload.ToArray())];
    }

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    [Benchmark(Baseline = true, Description = "raw RocksMQ read of 1000")]
    public async Task<int> RawRead()
    {
        await _bench.Mq.SeekToAsync(Channel, "bench", MqStartPosition.Earliest);
        return (await _bench.Mq.ConsumeAsync(Channel, "bench", MsgStreamBench.PerTick)).Count;
    }

    [Benchmark(Description = "unmarshal 1000")]
    public int Unmarshal()
    {
        var rows = 0;
        foreach (var bytes in _wire)
        {
            rows += ((InsertMsg)_dispatcher.Unmarshal(bytes)).RowCount;
        }
        return rows;
    }

    [Benchmark(Description = "unmarshal 1000 from retained bytes (header only, as the streams do)")]
    public int UnmarshalRetained()
    {
        var ids = 0L;
        foreach (var bytes in _wire)
        {
            ids += _dispatcher.Unmarshal(bytes.AsMemory()).Id;
        }
        return (int)ids;
    }

    [Benchmark(Description = "unmarshal 1000 from retained bytes, then read every row")]
    public int UnmarshalRetainedAndRows()
    {
        var rows = 0;
        foreach (var bytes in _wire)
        {
            rows += ((InsertMsg)_dispatcher.Unmarshal(bytes.AsMemory())).RowCount;
        }
        return rows;
    }

    [Benchmark(Description = "protobuf envelope parse of 1000")]
    public int ParseEnvelope()
    {
        var rows = 0;
        foreach (var bytes in _wire)
        {
            rows += MsgEnvelope.Parser.ParseFrom(bytes).Insert.Rows.Count;
        }
        return rows;
    }
}
