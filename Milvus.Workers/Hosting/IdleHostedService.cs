using Microsoft.Extensions.Hosting;

namespace Milvus.Workers.Hosting;

/// <summary>
/// The hosted service in a worker's place when the configuration selects a backend that needs no worker (the
/// RocksMQ retention worker under Redis Streams): it starts and stops at once.
/// </summary>
public sealed class IdleHostedService : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
