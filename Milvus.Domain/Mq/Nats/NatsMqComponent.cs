using Milvus.Domain.Components;

namespace Milvus.Domain.Mq.Nats;

/// <summary>
/// The NATS JetStream queue as a component (role <c>natsmq</c>). Its Init connects; a NATS that is down does not fail
/// it, since the connection heals by itself, and the readiness check reports whether JetStream answers.
/// </summary>
public sealed class NatsMqComponent(NatsMqClient mq) : ComponentBase
{
    /// <summary>The component's role.</summary>
    public const string ComponentRole = "natsmq";

    public override string Role => ComponentRole;

    protected override async Task OnInitAsync(CancellationToken cancellationToken)
    {
        Tracker.SetExtra("streamPrefix", mq.StreamPrefix);
        Tracker.SetExtra("replicas", mq.Replicas.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await mq.OpenAsync(cancellationToken).ConfigureAwait(false);
    }
}
