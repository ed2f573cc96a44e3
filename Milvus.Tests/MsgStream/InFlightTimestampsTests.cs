using Milvus.Domain.MsgStream;

namespace Milvus.Tests.MsgStream;

public sealed class InFlightTimestampsTests
{
    private ulong _clock = 100;

    [Fact]
    public void ATickNeverPassesATimestampThatIsNotWrittenYet()
    {
        var inFlight = new InFlightTimestamps();
        var first = inFlight.Begin(Next);
        var second = inFlight.Begin(Next);

        Assert.Equal(first - 1, inFlight.SafeTick(Next));

        inFlight.End(first);
        Assert.Equal(second - 1, inFlight.SafeTick(Next));

        inFlight.End(second);
        var tick = inFlight.SafeTick(Next);
        Assert.True(tick > second);
        Assert.Equal(0, inFlight.Count);
    }

    [Fact]
    public void ConcurrentProducersNeverSeeATickAboveTheirUnwrittenTimestamp()
    {
        var inFlight = new InFlightTimestamps();
        var violations = 0;
        var ticks = new List<ulong>();
        Parallel.For(0, 8, worker =>
        {
            for (var i = 0; i < 2000; i++)
            {
                if (worker == 0)
                {
                    lock (ticks)
                    {
                        ticks.Add(inFlight.SafeTick(NextShared));
                    }
                    continue;
                }
                var ts = inFlight.Begin(NextShared);
                // While this message is unwritten, no tick may reach its timestamp.
                lock (ticks)
                {
                    if (ticks.Count > 0 && ticks[^1] >= ts)
                    {
                        Interlocked.Increment(ref violations);
                    }
                }
                inFlight.End(ts);
            }
        });

        Assert.Equal(0, violations);
        Assert.Equal(0, inFlight.Count);
    }

    [Fact]
    public void EndingATimestampThatIsNotInFlightIsAnError()
    {
        var inFlight = new InFlightTimestamps();

        Assert.Throws<InvalidOperationException>(() => inFlight.End(5));
    }

    private ulong Next() => ++_clock;

    private ulong NextShared() => Interlocked.Increment(ref _clock);

    [Fact]
    public async Task ATickTakenWhileAnAllocationIsUnderWayStaysAtItsFloor()
    {
        var inFlight = new InFlightTimestamps();
        var written = await inFlight.BeginAsync(_ => ValueTask.FromResult(Next()));
        inFlight.End(written);
        var slow = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
        var producing = inFlight.BeginAsync(_ => new ValueTask<ulong>(slow.Task));

        var tickDuringAllocation = await inFlight.SafeTickAsync(_ => ValueTask.FromResult(Next()));
        slow.SetResult(Next());
        var assigned = await producing;
        var tickBeforeWrite = await inFlight.SafeTickAsync(_ => ValueTask.FromResult(Next()));
        inFlight.End(assigned);
        var tickAfterWrite = await inFlight.SafeTickAsync(_ => ValueTask.FromResult(Next()));

        Assert.Equal(written, tickDuringAllocation);
        Assert.True(tickDuringAllocation < assigned);
        Assert.Equal(assigned - 1, tickBeforeWrite);
        Assert.True(tickAfterWrite > assigned);
    }

    [Fact]
    public async Task AFailedAllocationReleasesItsFloor()
    {
        var inFlight = new InFlightTimestamps();

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await inFlight.BeginAsync(_ => throw new InvalidOperationException("down")));
        var tick = await inFlight.SafeTickAsync(_ => ValueTask.FromResult(Next()));

        Assert.Equal(_clock, tick);
        Assert.Equal(0, inFlight.Count);
    }
}
