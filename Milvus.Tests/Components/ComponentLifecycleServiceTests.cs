using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Milvus.Domain.Components;
using Milvus.Workers.Hosting;

namespace Milvus.Tests.Components;

public sealed class ComponentLifecycleServiceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task AComponentThatFailsToStartIsStartedAgainWithADoublingBackoffUntilItIsHealthy()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_000));
        var flaky = new FlakyComponent("flaky", failures: 2, time);
        var steady = new FlakyComponent("steady", failures: 0, time);
        var registry = new ComponentRegistry([flaky, steady]);
        using var service = new ComponentLifecycleService(registry, time, NullLogger<ComponentLifecycleService>.Instance);

        await service.StartAsync(CancellationToken.None);

        Assert.Equal(StateCode.Abnormal, flaky.Tracker.State);
        Assert.Equal("backend down (attempt 1)", flaky.Tracker.Reason);
        Assert.Equal(StateCode.Healthy, steady.Tracker.State);
        Assert.Equal(["flaky"], service.PendingRoles);
        time.Advance(ComponentLifecycleService.MinRetryDelay - TimeSpan.FromTicks(1));
        Assert.Single(flaky.Attempts);

        // Move the clock on in small steps until the third attempt has run; each retry waits at least twice the one before.
        using var patience = new CancellationTokenSource(Patience);
        while (flaky.Attempts.Count < 3)
        {
            time.Advance(Step);
            await Task.Yield();
            patience.Token.ThrowIfCancellationRequested();
        }
        await WaitUntilAsync(() => service.PendingRoles.Count == 0);

        Assert.Equal(StateCode.Healthy, flaky.Tracker.State);
        Assert.Equal(1, flaky.Inits);
        Assert.Single(steady.Attempts);
        var first = flaky.Attempts[1] - flaky.Attempts[0];
        var second = flaky.Attempts[2] - flaky.Attempts[1];
        Assert.True(first >= ComponentLifecycleService.MinRetryDelay, $"the first retry came after {first}");
        Assert.True(second >= 2 * ComponentLifecycleService.MinRetryDelay, $"the second retry came after {second}");

        await service.StopAsync(CancellationToken.None);
        Assert.Equal(StateCode.Stopping, flaky.Tracker.State);
    }

    [Fact]
    public async Task StoppingTheHostEndsTheRetriesOfAComponentThatNeverStarted()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_000));
        var broken = new FlakyComponent("broken", failures: int.MaxValue, time);
        using var service = new ComponentLifecycleService(new ComponentRegistry([broken]), time, NullLogger<ComponentLifecycleService>.Instance);
        await service.StartAsync(CancellationToken.None);
        time.Advance(ComponentLifecycleService.MinRetryDelay);
        await WaitUntilAsync(() => broken.Attempts.Count == 2);

        await service.StopAsync(CancellationToken.None).WaitAsync(Patience);

        Assert.Equal(StateCode.Stopping, broken.Tracker.State);
        Assert.Equal(["broken"], service.PendingRoles);
        var attempts = broken.Attempts.Count;
        time.Advance(ComponentLifecycleService.MaxRetryDelay * 2);
        Assert.Equal(attempts, broken.Attempts.Count);
    }

    [Fact]
    public async Task EachComponentIsInitStartedAndRegisteredInOrderAndAFailedRegisterAloneIsRetried()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_000));
        var steps = new List<string>();
        var session = new RegisteringComponent("session", registerFailures: 2, steps);
        var later = new RegisteringComponent("later", registerFailures: 0, steps);
        using var service = new ComponentLifecycleService(new ComponentRegistry([session, later]), time, NullLogger<ComponentLifecycleService>.Instance);

        await service.StartAsync(CancellationToken.None);

        Assert.Equal(["session init", "session start", "session register", "later init", "later start", "later register"], steps.ToList());
        Assert.Equal(StateCode.Abnormal, session.Tracker.State);
        Assert.Equal("not registered (attempt 1)", session.Tracker.Reason);
        Assert.Equal(StateCode.Healthy, later.Tracker.State);
        using var patience = new CancellationTokenSource(Patience);
        while (service.PendingRoles.Count > 0)
        {
            time.Advance(Step);
            await Task.Yield();
            patience.Token.ThrowIfCancellationRequested();
        }

        Assert.Equal(StateCode.Healthy, session.Tracker.State);
        Assert.Equal(["session register", "session register"], steps.Skip(6).ToList());
        await service.StopAsync(CancellationToken.None);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var patience = new CancellationTokenSource(Patience);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (!condition())
        {
            await poll.WaitForNextTickAsync(patience.Token);
        }
    }

    /// <summary>Fails its first <c>failures</c> starts, as a component whose backend is down would, and records when each start ran.</summary>
    private sealed class FlakyComponent(string role, int failures, TimeProvider time) : ComponentBase
    {
        private readonly List<DateTimeOffset> _attempts = [];

        public override string Role => role;

        /// <summary>How many times Init ran; a retry after a failed Start must not run it again.</summary>
        public int Inits { get; private set; }

        public IReadOnlyList<DateTimeOffset> Attempts
        {
            get
            {
                lock (_attempts)
                {
                    return [.. _attempts];
                }
            }
        }

        protected override Task OnInitAsync(CancellationToken cancellationToken)
        {
            Inits++;
            return Task.CompletedTask;
        }

        protected override Task<StateCode> OnStartAsync(CancellationToken cancellationToken)
        {
            int attempt;
            lock (_attempts)
            {
                _attempts.Add(time.GetUtcNow());
                attempt = _attempts.Count;
            }
            return attempt <= failures
                ? Task.FromException<StateCode>(new InvalidOperationException($"backend down (attempt {attempt})"))
                : Task.FromResult(StateCode.Healthy);
        }
    }

    /// <summary>Records its life-cycle steps and fails its first <c>registerFailures</c> registrations; it is Healthy only once registered.</summary>
    private sealed class RegisteringComponent(string role, int registerFailures, List<string> steps) : ComponentBase
    {
        private int _registrations;

        public override string Role => role;

        protected override Task OnInitAsync(CancellationToken cancellationToken)
        {
            Record("init");
            return Task.CompletedTask;
        }

        protected override Task<StateCode> OnStartAsync(CancellationToken cancellationToken)
        {
            Record("start");
            return Task.FromResult(StateCode.Initializing);
        }

        protected override Task<StateCode?> OnRegisterAsync(CancellationToken cancellationToken)
        {
            Record("register");
            var attempt = Interlocked.Increment(ref _registrations);
            return attempt <= registerFailures
                ? Task.FromException<StateCode?>(new InvalidOperationException($"not registered (attempt {attempt})"))
                : Task.FromResult<StateCode?>(StateCode.Healthy);
        }

        private void Record(string step)
        {
            lock (steps)
            {
                steps.Add($"{role} {step}");
            }
        }
    }
}
