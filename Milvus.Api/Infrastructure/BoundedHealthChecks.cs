using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Milvus.Api.Infrastructure;

/// <summary>
/// Bounds every health check to <see cref="CheckTimeout"/>: a check that has not answered by then reports its failure
/// status ("did not answer within …") and is left to finish in the background, whether or not it honours
/// cancellation. The checks run in parallel, so <c>/health/ready</c> answers within about that time whatever a
/// backend does (a frozen Redis or etcd, a disk that hangs), and a load balancer's probe never times out instead.
/// </summary>
internal sealed class BoundedHealthChecks : IPostConfigureOptions<HealthCheckServiceOptions>
{
    /// <summary>The longest one check may take before it counts as failed.</summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromMilliseconds(1500);

    public void PostConfigure(string? name, HealthCheckServiceOptions options)
    {
        foreach (var registration in options.Registrations)
        {
            var factory = registration.Factory;
            registration.Factory = services => new Bounded(factory(services));
            registration.Timeout = Timeout.InfiniteTimeSpan;
        }
    }

    private sealed class Bounded(IHealthCheck inner) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(CheckTimeout);
            var check = inner.CheckHealthAsync(context, bound.Token);
            try
            {
                return await check.WaitAsync(CheckTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (ex is TimeoutException || (ex is OperationCanceledException && bound.IsCancellationRequested)))
            {
                // The abandoned check may still fail later; its exception is observed here so that it is not reported as unobserved.
                _ = check.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                return new HealthCheckResult(context.Registration.FailureStatus,
                    $"{context.Registration.Name} did not answer within {CheckTimeout.TotalSeconds:0.#} s.");
            }
        }
    }
}
