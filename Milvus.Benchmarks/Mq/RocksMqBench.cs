using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;
using RocksDbSharp;

namespace Milvus.Benchmarks.Mq;

/// <summary>
/// A RocksMQ in a throwaway directory. The baselines use the same RocksDB directly (its data family, keys under
/// <c>raw/</c>, the same write options: WAL on, no fsync), so that a ratio shows RocksMQ's own cost and nothing of
/// a difference between two databases or two moments.
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
    }

    public RocksMq Mq { get; }

    /// <summary>Puts a batch into the raw database under increasing big-endian keys, as one WriteBatch.</summary>
    public void RawPut(IReadOnlyList<ReadOnlyMemory<byte>> payloads)
    {
        Span<byte> key = stackalloc byte[4 + sizeof(long)];
        "raw/"u8.CopyTo(key);
        using var batch = new WriteBatch();
        foreach (var payload in payloads)
        {
            BinaryPrimitives.WriteInt64BigEndian(key[4..], _rawNext++);
            batch.Put(key, payload.Span, _database.Data);
        }
        _database.Db.Write(batch, _rawWrite);
    }

    /// <summary>Reads a channel's stored messages with a bare iterator, copying each value as a consumer would.</summary>
    public int RawScan(string channel)
    {
        var bounds = new ReadOptions().SetIterateUpperBound(System.Text.Encoding.ASCII.GetBytes(channel + "0"));
        using var it = _database.Db.NewIterator(_database.Data, bounds);
        var count = 0;
        for (it.Seek(System.Text.Encoding.ASCII.GetBytes(channel + "/")); it.Valid(); it.Next())
        {
            _ = it.GetValueSpan().ToArray();
            count++;
        }
        return count;
    }

    /// <summary>
    /// Reads a channel's stored messages with a bare iterator in batches of <paramref name="batch"/>, copying each
    /// value into a message, and keeps each batch until the next one is complete, as the consume benchmark's loop
    /// does with RocksMQ's batches (the garbage collector then sees the same live data).
    /// </summary>
    public int RawScanKeepingBatches(string channel, int batch)
    {
        var bounds = new ReadOptions().SetIterateUpperBound(System.Text.Encoding.ASCII.GetBytes(channel + "0"));
        using var it = _database.Db.NewIterator(_database.Data, bounds);
        var count = 0;
        var held = new List<MqMessage>(batch);
        var previous = held;
        for (it.Seek(System.Text.Encoding.ASCII.GetBytes(channel + "/")); it.Valid(); it.Next())
        {
            if (held.Count == batch)
            {
                previous = held;
                held = new List<MqMessage>(batch);
            }
            held.Add(new MqMessage(BinaryPrimitives.ReadInt64BigEndian(it.GetKeySpan()[^8..]), it.GetValueSpan().ToArray()));
            count++;
        }
        GC.KeepAlive(previous);
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
        _database.Close();
        Directory.Delete(_root, recursive: true);
    }
}
