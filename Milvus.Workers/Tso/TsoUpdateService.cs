using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Milvus.Domain.Tso;

namespace Milvus.Workers.Tso;

/// <summary>
/// Calls <see cref="TsoComponent.TickAsync"/> every <see cref="TsoOptions.UpdateIntervalMs"/> on the injected
/// <see cref="TimeProvider"/>'s timer, which moves the oracle's physical part to the wall clock and keeps the
/// saved windows ahead.
/// </summary>
public sealed class TsoUpdateService(TsoComponent component, IOptions<TsoOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.UpdateIntervalMs), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await component.TickAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
