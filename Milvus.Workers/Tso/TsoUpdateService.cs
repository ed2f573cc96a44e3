using Microsoft.Extensions.Options;
using Milvus.Domain.Tso;
using Milvus.Workers.Hosting;

namespace Milvus.Workers.Tso;

/// <summary>
/// Calls <see cref="TsoComponent.TickAsync"/> every <see cref="TsoOptions.UpdateIntervalMs"/> on the injected
/// <see cref="TimeProvider"/>'s timer, which moves the oracle's physical part to the wall clock and keeps the
/// saved windows ahead. The first period counts from the start.
/// </summary>
public sealed class TsoUpdateService(TsoComponent component, IOptions<TsoOptions> options, TimeProvider time) : PeriodicService(time)
{
    protected override TimeSpan Interval => TimeSpan.FromMilliseconds(options.Value.UpdateIntervalMs);

    protected override Task OnTickAsync(CancellationToken stoppingToken) => component.TickAsync(stoppingToken);
}
