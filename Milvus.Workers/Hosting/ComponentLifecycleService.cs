using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Components;

namespace Milvus.Workers.Hosting;

/// <summary>
/// Drives every registered component through its life cycle with the generic host: Init and Start in
/// registration order at start-up, Stop in reverse order at shutdown. A component that fails to start is left
/// Abnormal and logged; the gateway keeps serving so that its state and readiness can say what is wrong.
/// </summary>
public sealed partial class ComponentLifecycleService(
    ComponentRegistry registry,
    ILogger<ComponentLifecycleService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var component in registry.Components)
        {
            try
            {
                await component.InitAsync(cancellationToken).ConfigureAwait(false);
                await component.StartAsync(cancellationToken).ConfigureAwait(false);
                Log.ComponentStarted(logger, component.Role);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                Log.ComponentFailedToStart(logger, ex, component.Role);
            }
        }
        registry.Root.TryTransitionTo(StateCode.Healthy);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        registry.Root.TryTransitionTo(StateCode.Stopping);
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

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Component {Role} started.")]
        public static partial void ComponentStarted(ILogger logger, string role);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Component {Role} failed to start; it stays Abnormal.")]
        public static partial void ComponentFailedToStart(ILogger logger, Exception exception, string role);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Stopping component {Role} was cancelled by the shutdown timeout.")]
        public static partial void ComponentStopCancelled(ILogger logger, string role);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Component {Role} failed to stop cleanly.")]
        public static partial void ComponentFailedToStop(ILogger logger, Exception exception, string role);
    }
}
