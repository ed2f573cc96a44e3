using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Components;

namespace Milvus.Workers.Hosting;

/// <summary>
/// Drives every registered component through its life cycle with the generic host: Init, Start and Register (the
/// seed's order: a component registers with service discovery once it serves) one component after the other in
/// registration order at start-up, Stop in reverse order at shutdown. A component that fails to start is left
/// Abnormal and logged; the gateway keeps serving so that its state and readiness can say what is wrong, and a
/// background loop takes the failed components on from the step that failed, with a backoff from <see cref="MinRetryDelay"/> doubling
/// up to <see cref="MaxRetryDelay"/> on the injected clock, until each has started (for example once the meta KV
/// that was down at start-up answers) or the host stops.
/// </summary>
public sealed partial class ComponentLifecycleService(
    ComponentRegistry registry,
    TimeProvider time,
    ILogger<ComponentLifecycleService> logger) : IHostedService, IDisposable
{
    /// <summary>The pause before the first retry of a component that failed to start.</summary>
    public static readonly TimeSpan MinRetryDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest pause between two retries.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<IComponent> _initialized = [];
    private readonly HashSet<IComponent> _started = [];
    private Task _retries = Task.CompletedTask;

    /// <summary>The components that have not started yet: they failed and are being retried.</summary>
    public IReadOnlyList<string> PendingRoles { get; private set; } = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var failed = new List<IComponent>();
        foreach (var component in registry.Components)
        {
            try
            {
                await StartOneAsync(component, cancellationToken).ConfigureAwait(false);
                Log.ComponentStarted(logger, component.Role);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                Log.ComponentFailedToStart(logger, ex, component.Role);
                failed.Add(component);
            }
        }
        registry.Root.TryTransitionTo(StateCode.Healthy);
        if (failed.Count > 0)
        {
            PendingRoles = [.. failed.Select(c => c.Role)];
            _retries = RetryAsync(failed, _stopping.Token);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        registry.Root.TryTransitionTo(StateCode.Stopping);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _retries.ConfigureAwait(false);
        foreach (var component in registry.Components.Reverse())
        {
            try
            {
                await component.StopAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Log.ComponentStopCancelled(logger, component.Role);
            }
            catch (Exception ex)
            {
                Log.ComponentFailedToStop(logger, ex, component.Role);
            }
        }
    }

    public void Dispose() => _stopping.Dispose();

    /// <summary>Inits, starts and registers the component, skipping the steps an earlier attempt finished.</summary>
    private async Task StartOneAsync(IComponent component, CancellationToken cancellationToken)
    {
        if (!_initialized.Contains(component))
        {
            await component.InitAsync(cancellationToken).ConfigureAwait(false);
            _initialized.Add(component);
        }
        if (!_started.Contains(component))
        {
            await component.StartAsync(cancellationToken).ConfigureAwait(false);
            _started.Add(component);
        }
        await component.RegisterAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts the failed components again, in registration order, until every one has started or the host stops.</summary>
    private async Task RetryAsync(List<IComponent> failed, CancellationToken stopping)
    {
        var delay = MinRetryDelay;
        var attempt = 1;
        try
        {
            while (failed.Count > 0)
            {
                await Task.Delay(delay, time, stopping).ConfigureAwait(false);
                attempt++;
                foreach (var component in failed.ToList())
                {
                    try
                    {
                        await StartOneAsync(component, stopping).ConfigureAwait(false);
                        failed.Remove(component);
                        Log.ComponentStartedOnRetry(logger, component.Role, attempt);
                    }
                    catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (Exception ex)
                    {
                        Log.ComponentRetryFailed(logger, component.Role, attempt, ex.Message);
                    }
                }
                PendingRoles = [.. failed.Select(c => c.Role)];
                delay = delay * 2 > MaxRetryDelay ? MaxRetryDelay : delay * 2;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down; the components that never started stay Abnormal and are stopped with the others.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Component {Role} started.")]
        public static partial void ComponentStarted(ILogger logger, string role);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Component {Role} failed to start; it stays Abnormal and is started again in the background.")]
        public static partial void ComponentFailedToStart(ILogger logger, Exception exception, string role);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Stopping component {Role} was cancelled by the shutdown timeout.")]
        public static partial void ComponentStopCancelled(ILogger logger, string role);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Component {Role} failed to stop cleanly.")]
        public static partial void ComponentFailedToStop(ILogger logger, Exception exception, string role);

        [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Component {Role} started on attempt {Attempt}.")]
        public static partial void ComponentStartedOnRetry(ILogger logger, string role, int attempt);

        [LoggerMessage(EventId = 1006, Level = LogLevel.Debug, Message = "Component {Role} failed to start on attempt {Attempt} ({Reason}); retrying.")]
        public static partial void ComponentRetryFailed(ILogger logger, string role, int attempt, string reason);
    }
}
