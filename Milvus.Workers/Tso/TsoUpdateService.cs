using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Milvus.Domain.Tso;

namespace Milvus.Workers.Tso;

/// <summary>
/// Calls <see cref="TsoComponent.TickAsync"/> every <see cref="TsoOptions.UpdateIntervalMs"/> on the injected
/// <see cref="TimeProvider"/>'s timer, which moves the oracle's physical part to the wall clock and keeps the
/// saved windows ahead. The timer starts in <see cref="StartAsync"/>, so the first period counts from there.
/// </summary>
public sealed class TsoUpdateService(TsoComponent component, IOptions<TsoOptions> options, TimeProvider time) : BackgroundService
{
    private PeriodicTimer? _timer;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.UpdateIntervalMs), time);
        return base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _timer?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timer = _timer ?? throw new InvalidOperationException("The updater runs only through StartAsync.");
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
