using Microsoft.Extensions.Hosting;
using Milvus.Domain.MsgStream.Gateway;

namespace Milvus.Workers.MsgStream;

/// <summary>
/// Closes the server-side subscriptions' streams when the host stops. Registered after the component life cycle,
/// it stops before it, so no stream is still reading when the message queue closes.
/// </summary>
public sealed class SubscriptionShutdownService(StreamSubscriptions subscriptions) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => subscriptions.CloseStreamsAsync();
}
