using Milvus.Domain.Components;

namespace Milvus.Domain.Mq.Redis;

/// <summary>
/// The Redis Streams queue as a component (role <c>redismq</c>). Its Init connects; a Redis that is down does not fail
/// it, since the connection heals by itself, and the readiness check reports whether Redis answers.
/// </summary>
public sealed class RedisMqComponent(RedisMqClient mq) : ComponentBase
{
    /// <summary>The component's role.</summary>
    public const string ComponentRole = "redismq";

    public override string Role => ComponentRole;

    protected override async Task OnInitAsync(CancellationToken cancellationToken)
    {
        Tracker.SetExtra("keyPrefix", mq.KeyPrefix);
        await mq.OpenAsync(cancellationToken).ConfigureAwait(false);
    }
}
