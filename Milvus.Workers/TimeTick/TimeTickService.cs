using Microsoft.Extensions.Options;
using Milvus.Domain.MsgStream;
using Milvus.Workers.Hosting;

namespace Milvus.Workers.TimeTick;

/// <summary>
/// Calls <see cref="TimeTickComponent.TickAsync"/> every <see cref="TimeTickOptions.IntervalMs"/> on the injected
/// <see cref="TimeProvider"/>'s timer (a run-time override of the interval applies from the next tick); with
/// <c>Milvus:TimeTick:Enabled=false</c> it does not run at all.
/// </summary>
public sealed class TimeTickService(TimeTickComponent component, IOptionsMonitor<TimeTickOptions> options, TimeProvider time) : PeriodicService(time)
{
    protected override TimeSpan Interval => TimeSpan.FromMilliseconds(options.CurrentValue.IntervalMs);

    protected override Task OnTickAsync(CancellationToken stoppingToken) => component.TickAsync(stoppingToken);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        options.CurrentValue.Enabled ? base.ExecuteAsync(stoppingToken) : Task.CompletedTask;
}

/// <summary>
/// Calls <see cref="TimeTickComponent.ReportAsync"/> four times per <see cref="TimeTickOptions.IntervalMs"/> (at
/// least every 10 ms apart), so that the ticker reads reports at most a quarter of an interval old; with
/// <c>Milvus:TimeTick:Enabled=false</c> it does not run at all.
/// </summary>
public sealed class TimeTickReportService(TimeTickComponent component, IOptionsMonitor<TimeTickOptions> options, TimeProvider time) : PeriodicService(time)
{
    protected override TimeSpan Interval => TimeSpan.FromMilliseconds(Math.Max(10, options.CurrentValue.IntervalMs / 4));

    protected override Task OnTickAsync(CancellationToken stoppingToken) => component.ReportAsync(stoppingToken);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        options.CurrentValue.Enabled ? base.ExecuteAsync(stoppingToken) : Task.CompletedTask;
}
