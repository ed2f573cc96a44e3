using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Milvus.Tests.Api;

/// <summary>
/// Shuts an in-memory gateway down once, the way the real process does, and returns only when it is gone.
/// </summary>
/// <remarks>
/// With a minimal-API <c>Program</c>, <see cref="Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory{TEntryPoint}"/>
/// runs the program's own <c>app.Run()</c> on a thread of its own, and on dispose stops and disposes the same host a
/// second time beside it (dotnet/aspnetcore#40271). A service provider disposes its services for the first caller
/// only: the second returns at once. So a factory's <c>Dispose</c> could return while the first disposal was still
/// closing RocksDB, and a gateway started next on the same data directory failed on RocksDB's LOCK file. This host
/// only asks the application to stop; <c>app.Run()</c> stops it and disposes it, as in production, and
/// <see cref="StopAsync"/> and <see cref="Dispose"/> wait until that disposal has finished.
/// </remarks>
internal sealed class SingleShutdownHost : IHost
{
    /// <summary>Bounds a shutdown that hangs; the host's own stop timeout is 30 s, disposal comes after it.</summary>
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromMinutes(2);

    private readonly IHost _started;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly Task _disposed;

    private SingleShutdownHost(IHost started, Task disposed)
    {
        _started = started;
        _lifetime = started.Services.GetRequiredService<IHostApplicationLifetime>();
        _disposed = disposed;
    }

    public IServiceProvider Services => _started.Services;

    /// <summary>
    /// Builds and starts the host with <paramref name="createHost"/> (the factory's own <c>CreateHost</c>), on a
    /// service provider that reports when its disposal has finished.
    /// </summary>
    public static IHost Create(IHostBuilder builder, Func<IHostBuilder, IHost> createHost)
    {
        var disposed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        builder.UseServiceProviderFactory(new ReportingProviderFactory(disposed));
        var started = createHost(builder);
        if (started.Services is not ReportingProvider)
        {
            throw new InvalidOperationException($"The host was built on {started.Services.GetType()}, not on the reporting provider.");
        }
        return new SingleShutdownHost(started, disposed.Task);
    }

    public Task StartAsync(CancellationToken cancellationToken = default) => _started.StartAsync(cancellationToken);

    /// <summary>Asks the application to stop and waits until <c>app.Run()</c> has stopped and disposed it.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        _lifetime.StopApplication();
        try
        {
            await _disposed.WaitAsync(ShutdownTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"The gateway did not stop and dispose within {ShutdownTimeout.TotalSeconds:0} s.", ex);
        }
    }

    public void Dispose() => StopAsync().GetAwaiter().GetResult();

    private sealed class ReportingProviderFactory(TaskCompletionSource disposed) : IServiceProviderFactory<IServiceCollection>
    {
        public IServiceCollection CreateBuilder(IServiceCollection services) => services;

        public IServiceProvider CreateServiceProvider(IServiceCollection containerBuilder) =>
            new ReportingProvider(containerBuilder.BuildServiceProvider(), disposed);
    }

    /// <summary>
    /// The default provider, reporting when its disposal has finished. Like the default, only the first call disposes;
    /// the others return at once (the host itself is one of the provider's services, and disposing it disposes the
    /// provider again, from inside the first call).
    /// </summary>
    private sealed class ReportingProvider(ServiceProvider inner, TaskCompletionSource disposed)
        : IKeyedServiceProvider, ISupportRequiredService, IDisposable, IAsyncDisposable
    {
        private int _disposing;

        public object? GetService(Type serviceType) => inner.GetService(serviceType);

        public object GetRequiredService(Type serviceType) => inner.GetRequiredService(serviceType);

        public object? GetKeyedService(Type serviceType, object? serviceKey) => inner.GetKeyedService(serviceType, serviceKey);

        public object GetRequiredKeyedService(Type serviceType, object? serviceKey) => inner.GetRequiredKeyedService(serviceType, serviceKey);

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposing, 1) == 1)
            {
                return;
            }
            try
            {
                await inner.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The waiter fails with the same error as the disposer.
                disposed.TrySetException(ex);
                throw;
            }
            disposed.TrySetResult();
        }

        public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
