using Microsoft.Extensions.Time.Testing;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Embedded;
using Milvus.Domain.Kv.RocksDb;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Kv;

/// <summary>
/// The <see cref="IMetaKv"/> contract on the embedded emulation over <see cref="RocksDbKv"/>: the embedded
/// mode's meta store as the gateway runs it.
/// </summary>
public sealed class EmbeddedMetaKvOnRocksDbTests : MetaKvContractTests, IDisposable
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly TempDirectory _dir = new();

    protected override async Task<IMetaKv> OpenAsync(string root) =>
        await EmbeddedMetaKv.OpenAsync(RocksDbKv.Open(_dir.Combine("meta")), root, _time, ownsStore: true);

    protected override void AdvanceTime(TimeSpan by) => _time.Advance(by);

    protected override Task CompactAsync(long revision)
    {
        ((EmbeddedMetaKv)Kv).Compact(revision);
        return Task.CompletedTask;
    }

    public void Dispose() => _dir.Dispose();
}
