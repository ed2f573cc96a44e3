using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Params;

namespace Milvus.Workers.Params;

/// <summary>
/// Keeps this gateway's run-time override layer equal to the cluster's overrides in the meta KV: it loads them before
/// the gateway serves, then follows every change with a watch (within a second of the write, on any gateway). When the
/// store is unreachable it keeps what it has and tries again every second.
/// </summary>
public sealed partial class ParamOverridesService(ParamOverrideStore store, BaseTable table, TimeProvider time, ILogger<ParamOverridesService> logger) : BackgroundService
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private long _revision = -1;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await LoadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.LoadFailed(logger, ex);
        }
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (_revision < 0)
                {
                    await LoadAsync(stoppingToken).ConfigureAwait(false);
                }
                await foreach (var (key, value) in store.WatchAsync(_revision, stoppingToken).ConfigureAwait(false))
                {
                    if (value is null)
                    {
                        table.RemoveOverride(key);
                    }
                    else
                    {
                        table.LoadFromKVPair([new(key, value)]);
                    }
                    Log.Applied(logger, key, value is null ? "removed" : "set");
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A compacted history or a lost store: load the whole layer again once it answers.
                Log.WatchFailed(logger, ex);
                _revision = -1;
                try
                {
                    await Task.Delay(RetryDelay, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        var (overrides, revision) = await store.LoadAsync(cancellationToken).ConfigureAwait(false);
        table.ReplaceOverrides(overrides);
        _revision = revision;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "The run-time parameter overrides could not be loaded from the meta store; the gateway starts with its configuration and loads them once the store answers.")]
        public static partial void LoadFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "Following the run-time parameter overrides failed; loading them again in a second.")]
        public static partial void WatchFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 7103, Level = LogLevel.Information, Message = "Run-time parameter override of {Key} {Change}.")]
        public static partial void Applied(ILogger logger, string key, string change);
    }
}
