using Microsoft.Extensions.Logging;
using Milvus.Domain.Components;
using Milvus.Domain.Tso;

namespace Milvus.Workers.Tso;

/// <summary>
/// The timestamp oracle and the global id allocator as one component, role <c>tso</c>. Init loads both saved
/// states; a failure leaves the component Abnormal, and each later tick tries the load again. A tick that cannot
/// update (the meta KV is down) makes it Abnormal with the reason; the next good tick makes it Healthy again.
/// </summary>
public sealed partial class TsoComponent(TimestampOracle oracle, GlobalIdAllocator ids, ILogger<TsoComponent> logger) : ComponentBase
{
    /// <summary>The role the component reports.</summary>
    public const string RoleName = "tso";

    public override string Role => RoleName;

    /// <summary>The oracle this component drives.</summary>
    public TimestampOracle Oracle => oracle;

    /// <summary>The id allocator this component drives.</summary>
    public GlobalIdAllocator Ids => ids;

    /// <summary>
    /// One update: moves both clocks on, or, while the saved state is not loaded, tries to load it. Errors other
    /// than cancellation are reported as the component's Abnormal state and logged once per change of state.
    /// </summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        var state = Tracker.State;
        if (state is StateCode.Stopping or StateCode.Initializing)
        {
            return;
        }
        try
        {
            if (!oracle.IsReady || !ids.IsReady)
            {
                await LoadAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await oracle.UpdateTimestampAsync(cancellationToken).ConfigureAwait(false);
                await ids.UpdateAsync(cancellationToken).ConfigureAwait(false);
            }
            if (state == StateCode.Abnormal && Tracker.TryTransitionTo(StateCode.Healthy))
            {
                Log.Recovered(logger);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            if (state != StateCode.Abnormal)
            {
                Log.UpdateFailed(logger, ex);
            }
            Tracker.TryTransitionTo(StateCode.Abnormal, ex.Message);
        }
    }

    protected override Task OnInitAsync(CancellationToken cancellationToken) => LoadAsync(cancellationToken);

    protected override Task OnStopAsync(CancellationToken cancellationToken)
    {
        oracle.ResetTimestamp();
        ids.Reset();
        return Task.CompletedTask;
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        await oracle.InitTimestampAsync(cancellationToken).ConfigureAwait(false);
        await ids.InitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4301, Level = LogLevel.Error, Message = "The TSO cannot update its clocks; it is Abnormal until the meta KV answers again.")]
        public static partial void UpdateFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 4302, Level = LogLevel.Information, Message = "The TSO updates its clocks again; it is Healthy.")]
        public static partial void Recovered(ILogger logger);
    }
}
