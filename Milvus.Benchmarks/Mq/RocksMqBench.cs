using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;
using RocksDbSharp;

namespace Milvus.Benchmarks.Mq;

/// <summary>
/// A RocksMQ and, beside it, a raw RocksDB with the same write options (WAL on, no fsync), each in a throwaway
/// directory: the queue's figures are reported as a ratio to the raw database in the same run.
/// </summary>
internal sealed class RocksMqBench : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("milvus-bench-").FullName;
    private readonly RocksMqDatabase _database = new();
    private readonly WriteOptions _rawWrite = new WriteOptions().SetSync(false);
    private long _rawNext = 1;

    public RocksMqBench()
    {
        _database.Open(Path.Combine(_root, "rocksmq"), syncWrites: false);
        Mq = new RocksMq(_database, new RocksMqIdAllocator(_database), Options.Create(new RocksMqOptions()), TimeProvider.System, NullLogger<RocksMq>.Instance);
        Mq.Load();
        Raw = RocksDb.Open(new DbOptions().SetCreateIfMissing(true), Path.Combine(_root, "raw"));
    }

    public RocksMq Mq { get; }

    public RocksDb Raw { get; }

    /// <summary>Puts a batch into the raw database under increasing big-endian keys, as one WriteBatch.</summary>
    public void RawPut(IReadOnlyList<ReadOnlyMemory<byte>> payloads)
    {
        Span<byte> key = stackalloc byte[4 + sizeof(long)];
        "raw/"u8.CopyTo(key);
        using var batch = new WriteBatch();
        foreach (var payload in payloads)
        {
            BinaryPrimitives.WriteInt64BigEndian(key[4..], _rawNext++);
            batch.Put(key, payload.Span);
        }
        Raw.Write(batch, _rawWrite);
    }

    /// <summary>Reads every raw message with an iterator, copying each value as a consumer would.</summary>
    public int RawScan()
    {
        using var it = Raw.NewIterator();
        var count = 0;
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            _ = it.GetValueSpan().ToArray();
            count++;
        }
        return count;
    }

    /// <summary>Creates a channel with a group at the earliest message.</summary>
    public async Task CreateChannelAsync(string channel)
    {
        await Mq.CreateChannelAsync(channel);
        await Mq.CreateConsumerGroupAsync(channel, "bench", MqStartPosition.Earliest);
    }

    public static ReadOnlyMemory<byte>[] Payloads(int count, int size)
    {
        var random = new Random(7);
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            var bytes = new byte[size];
            random.NextBytes(bytes);
            return (ReadOnlyMemory<byte>)bytes;
        })];
    }

    public void Dispose()
    {
        Raw.Dispose();
        _database.Close();
        Directory.Delete(_root, recursive: true);
    }
}
