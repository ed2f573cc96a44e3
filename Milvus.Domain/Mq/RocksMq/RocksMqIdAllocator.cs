using System.Buffers.Binary;
using System.Text;
using Milvus.Domain.Tso;

namespace Milvus.Domain.Mq.RocksMq;

/// <summary>
/// An <see cref="IIdAllocator"/> that keeps its high-water mark in RocksMQ's own database: a window of ids is
/// persisted (with the database's write options) before any id inside it is issued, so no id is issued twice,
/// also across a crash. The embedded fallback while no global allocator is configured. Ids start at 1.
/// </summary>
public sealed class RocksMqIdAllocator(RocksMqDatabase database) : IIdAllocator
{
    /// <summary>The largest batch one call may take.</summary>
    public const uint MaxBatch = 1_000_000;

    /// <summary>How many ids each persisted window holds beyond the request that opened it.</summary>
    public const long Window = 100_000;

    private static readonly byte[] HighWaterKey = Encoding.ASCII.GetBytes("id_allocator/high_water");

    private readonly Lock _gate = new();
    private long _loadedGeneration = -1;
    private long _next;
    private long _highWater;

    public ValueTask<IdRange> AllocAsync(uint count, CancellationToken cancellationToken = default)
    {
        if (count is 0 or > MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"count must be between 1 and {MaxBatch}.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        using var lease = database.Acquire();
        lock (_gate)
        {
            if (_loadedGeneration != database.Generation)
            {
                var saved = database.Io(() => database.Db.Get(HighWaterKey, database.Default), "read the id high-water mark");
                _highWater = saved is null ? 1 : BinaryPrimitives.ReadInt64BigEndian(saved);
                _next = _highWater;
                _loadedGeneration = database.Generation;
            }
            if (_next + count > _highWater)
            {
                var highWater = _next + count + Window;
                var value = new byte[sizeof(long)];
                BinaryPrimitives.WriteInt64BigEndian(value, highWater);
                database.Io(() =>
                {
                    database.Db.Put(HighWaterKey, value, database.Default, database.WriteOptions);
                    return true;
                }, "persist the id high-water mark");
                _highWater = highWater;
            }
            var range = new IdRange(_next, _next + count);
            _next = range.End;
            return ValueTask.FromResult(range);
        }
    }

    public async ValueTask<long> AllocOneAsync(CancellationToken cancellationToken = default) =>
        (await AllocAsync(1, cancellationToken).ConfigureAwait(false)).Begin;
}
