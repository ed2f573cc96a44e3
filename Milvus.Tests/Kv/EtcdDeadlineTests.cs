using Milvus.Domain.Kv.Etcd;

namespace Milvus.Tests.Kv;

/// <summary>The shared request deadline of <see cref="EtcdKv"/>.</summary>
public sealed class EtcdDeadlineTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public void CallsInOneSliceShareOneTokenThatIsNotYetCancelled()
    {
        using var deadline = new EtcdDeadline(TimeSpan.FromMinutes(10));

        var first = deadline.Token;
        var second = deadline.Token;

        Assert.Equal(first, second);
        Assert.True(first.CanBeCanceled);
        Assert.False(first.IsCancellationRequested);
        Assert.Equal(TimeSpan.FromMinutes(10) + TimeSpan.FromMinutes(10) / 8, deadline.Longest);
    }

    [Fact]
    public async Task ATokenIsCancelledNoSoonerThanTheTimeoutAndALaterCallGetsAFreshOne()
    {
        var timeout = TimeSpan.FromMilliseconds(400);
        var started = TimeProvider.System.GetTimestamp();
        using var deadline = new EtcdDeadline(timeout);
        var token = deadline.Token;
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        using (token.Register(() => cancelled.TrySetResult()))
        {
            await cancelled.Task.WaitAsync(Patience);
        }

        Assert.True(TimeProvider.System.GetElapsedTime(started) >= timeout);
        var fresh = deadline.Token;
        Assert.NotEqual(token, fresh);
        Assert.False(fresh.IsCancellationRequested);
    }

    [Fact]
    public async Task ALinkedSourceFollowsTheCallerAndIsAbsentWhenTheCallerCannotCancel()
    {
        using var deadline = new EtcdDeadline(TimeSpan.FromMinutes(10));
        using var caller = new CancellationTokenSource();

        Assert.Null(deadline.Link(CancellationToken.None));
        using var linked = deadline.Link(caller.Token);
        Assert.NotNull(linked);
        Assert.False(linked.IsCancellationRequested);
        await caller.CancelAsync();
        Assert.True(linked.IsCancellationRequested);
        Assert.False(deadline.Token.IsCancellationRequested);
    }
}
