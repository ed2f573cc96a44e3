using Milvus.Domain.MsgStream.Gateway;
using Milvus.Workers.Jobs;

namespace Milvus.Workers.MsgStream;

/// <summary>Ends message-stream subscriptions idle for longer than <c>Milvus:MsgStream:SubscriptionIdleSeconds</c>, every minute.</summary>
public sealed class SubscriptionExpiryJob(StreamSubscriptions subscriptions) : IMaintenanceJob
{
    public string Id => "msgstream-subscription-expiry";

    public string Cron => "* * * * *";

    public Task RunAsync(CancellationToken cancellationToken) => subscriptions.ExpireIdleAsync(cancellationToken);
}
