using System.Globalization;
using Milvus.Domain.Components;
using Milvus.Domain.Sessions;

namespace Milvus.Workers.Sessions;

/// <summary>
/// The gateway's own registration, role <c>session</c>: its <see cref="IComponent.RegisterAsync"/> (run by the host
/// right after its start) registers as <c>gateway-&lt;id&gt;</c> with its address, and it is Healthy while the
/// registration stands, Abnormal (with the reason) while it is lost and
/// being made again. Its extra info names the key, the address and the current lease. A graceful shutdown marks it stopping and then revokes it.
/// </summary>
public sealed class GatewaySessionComponent : ComponentBase
{
    /// <summary>The role the component reports.</summary>
    public const string RoleName = "session";

    /// <summary>The server name every gateway registers under.</summary>
    public const string ServerName = "gateway";

    private readonly SessionFactory _sessions;

    public GatewaySessionComponent(SessionFactory sessions)
    {
        _sessions = sessions;
        Session = sessions.Create();
        Session.RegistrationChanged += (registered, reason) =>
        {
            if (registered)
            {
                Tracker.SetExtra("leaseId", Session.LeaseId.ToString(CultureInfo.InvariantCulture));
            }
            if (Tracker.State is not (StateCode.Stopping or StateCode.Initializing))
            {
                Tracker.TryTransitionTo(registered ? StateCode.Healthy : StateCode.Abnormal, reason);
            }
        };
    }

    public override string Role => RoleName;

    /// <summary>The gateway's session.</summary>
    public Session Session { get; }

    /// <summary>Starts Initializing: the gateway is not known to the cluster until it has registered.</summary>
    protected override Task<StateCode> OnStartAsync(CancellationToken cancellationToken) => Task.FromResult(StateCode.Initializing);

    protected override async Task<StateCode?> OnRegisterAsync(CancellationToken cancellationToken)
    {
        await Session.InitAsync(ServerName, _sessions.Address, exclusive: false, cancellationToken).ConfigureAwait(false);
        NodeId = Session.ServerId;
        Tracker.SetExtra("key", Session.Info!.Key);
        Tracker.SetExtra("address", _sessions.Address);
        return Session.IsRegistered ? StateCode.Healthy : StateCode.Abnormal;
    }

    protected override Task OnStopAsync(CancellationToken cancellationToken) => Session.StopAsync(cancellationToken);
}
