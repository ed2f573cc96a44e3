using Microsoft.Extensions.Logging;
using Milvus.Domain.Components;
using Milvus.Domain.Params;

namespace Milvus.Workers.Params;

/// <summary>
/// Keeps this gateway's run-time override layer equal to the cluster's overrides in the meta KV, as the component of
/// role <c>params</c>: its Init loads them, after the meta store opens and before the components that read parameters
/// start; its Start follows every change with a watch (within a second of the write, on any gateway). When the store
/// is unreachable it keeps what it has and tries again every second.
/// </summary>
public sealed partial class ParamOverridesComponent(ParamOverrideStore store, BaseTable table, TimeProvider time, ILogger<ParamOverridesComponent> logger)
    : ComponentBase, IDisposable
{
    /// <summary>The role the component reports.</summary>
    public const string RoleName = "params";

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stopping = new();
    private Task _watch = Task.CompletedTask;

    private long _revision = -1;

    public override string Role => RoleName;

    public void Dispose() => _stopping.Dispose();

    protected override async Task OnInitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await LoadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The gateway starts with its configuration; the watch loads the overrides once the store answers.
            Log.LoadFailed(logger, ex);
        }
    }

    protected override Task<StateCode> OnStartAsync(CancellationToken cancellationToken)
    {
        _watch = FollowAsync(_stopping.Token);
        return Task.FromResult(StateCode.Healthy);
    }

    protected override async Task OnStopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _watch.ConfigureAwait(false);
    }

    private async Task FollowAsync(CancellationToken stoppingToken)
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
                    // What the store holds now, not the event's own value, which a later change may have undone.
                    await store.ApplyStoredAsync(key, table, stoppingToken).ConfigureAwait(false);
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

    private async Task LoadAsync(CancellationToken cancellationToken) =>
        _revision = await store.LoadIntoAsync(table, cancellationToken).ConfigureAwait(false);

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
