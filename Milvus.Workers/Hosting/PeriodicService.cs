using Microsoft.Extensions.Hosting;

namespace Milvus.Workers.Hosting;

/// <summary>
/// A hosted loop that runs <see cref="OnTickAsync"/> once per <see cref="Interval"/> on the injected
/// <see cref="TimeProvider"/>'s timer. The timer is made in <see cref="StartAsync"/>, so the first period counts
/// from the start; <see cref="Interval"/> is read again after every period, so it may change; shutdown ends the loop
/// quietly.
/// </summary>
public abstract class PeriodicService(TimeProvider time) : BackgroundService
{
    private PeriodicTimer? _timer;

    /// <summary>How long one period lasts.</summary>
    protected abstract TimeSpan Interval { get; }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = new PeriodicTimer(Interval, time);
        return base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _timer?.Dispose();
        base.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>One period's work.</summary>
    protected abstract Task OnTickAsync(CancellationToken stoppingToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timer = _timer ?? throw new InvalidOperationException($"{GetType().Name} runs only through StartAsync.");
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await OnTickAsync(stoppingToken).ConfigureAwait(false);
                // An interval read from live options follows a change from the next period on.
                if (Interval is var interval && interval != timer.Period)
                {
                    timer.Period = interval;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
