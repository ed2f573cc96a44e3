using Milvus.Domain.MsgStream.Streams;

namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>A subscription exists with other settings, or is streaming over SSE (409).</summary>
internal sealed class SubscriptionConflictException(string message) : Exception(message), IMilvusError
{
    public ErrorKind Kind => ErrorKind.Conflict;
}

/// <summary>No subscription has the name (404).</summary>
internal sealed class SubscriptionNotFoundException(string subName)
    : Exception($"No subscription is named '{subName}'."), IMilvusError
{
    public ErrorKind Kind => ErrorKind.NotFound;
}

/// <summary>The gateway holds as many subscriptions as it may (503: retry once some expire or are deleted).</summary>
internal sealed class SubscriptionLimitException(int limit)
    : Exception($"The gateway holds {limit} subscriptions, its limit (Milvus:MsgStream:MaxSubscriptions); delete one or wait for idle ones to expire."), IMilvusError
{
    public ErrorKind Kind => ErrorKind.Busy;
}

/// <summary>The client holds as many subscriptions on this gateway as one client may (429: delete one, or let one expire).</summary>
internal sealed class SubscriptionClientLimitException(int limit)
    : Exception($"This client holds {limit} subscriptions on this gateway, the most one client may (Milvus:MsgStream:MaxSubscriptionsPerClient); delete one or wait for idle ones to expire."), IMilvusError
{
    public ErrorKind Kind => ErrorKind.TooMany;
}

/// <summary>A streaming subscription's stream; disposing it ends the subscription.</summary>
public sealed class SubscriptionLease(IMsgStream stream, Func<Task> end) : IAsyncDisposable
{
    /// <summary>The subscription's stream.</summary>
    public IMsgStream Stream => stream;

    public async ValueTask DisposeAsync() => await end().ConfigureAwait(false);
}
