using Milvus.Domain.Components;

namespace Milvus.Domain.Mq.Redis;

/// <summary>
/// The Redis Streams queue as a component (role <c>redismq</c>). It has nothing to open: the connection heals by
/// itself, and the readiness check reports whether Redis answers.
/// </summary>
public sealed class RedisMqComponent(RedisMqClient mq) : ComponentBase
{
    /// <summary>The component's role.</summary>
    public const string ComponentRole = "redismq";

    public override string Role => ComponentRole;

    protected override Task OnInitAsync(CancellationToken cancellationToken)
    {
        Tracker.SetExtra("keyPrefix", mq.KeyPrefix);
        return Task.CompletedTask;
    }
}
