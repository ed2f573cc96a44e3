using Microsoft.Extensions.Time.Testing;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Embedded;
using Milvus.Domain.Kv.Memory;

namespace Milvus.Tests.Sessions;

/// <summary>Sessions on the embedded meta KV, whose leases expire by a fake clock.</summary>
public sealed class EmbeddedSessionTests : SessionContractTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    protected override TimeProvider Time => _time;

    protected override async Task<IMetaKv> OpenAsync(string root) => await EmbeddedMetaKv.OpenAsync(new MemoryKv("sessions"), root, _time);

    protected override void AdvanceTime(TimeSpan by) => _time.Advance(by);

    protected override Task CompactAsync(long revision)
    {
        ((EmbeddedMetaKv)Kv).Compact(revision);
        return Task.CompletedTask;
    }
}
