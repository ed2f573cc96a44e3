using Milvus.Domain.Components;

namespace Milvus.Tests.Components;

public sealed class ComponentStateTests
{
    [Fact]
    public void ATrackerStartsInitializingAndMovesThroughAllowedStates()
    {
        var tracker = new ComponentStateTracker();
        var seen = new List<(StateCode, StateCode)>();
        tracker.Changed += (from, to) => seen.Add((from, to));

        Assert.Equal(StateCode.Initializing, tracker.State);
        tracker.TransitionTo(StateCode.Healthy);
        tracker.TransitionTo(StateCode.Abnormal, "etcd is down");
        Assert.Equal("etcd is down", tracker.Reason);
        tracker.TransitionTo(StateCode.Healthy);
        tracker.TransitionTo(StateCode.Stopping);

        Assert.Equal(
            [(StateCode.Initializing, StateCode.Healthy), (StateCode.Healthy, StateCode.Abnormal), (StateCode.Abnormal, StateCode.Healthy), (StateCode.Healthy, StateCode.Stopping)],
            seen);
    }

    [Fact]
    public void StoppingIsFinal()
    {
        var tracker = new ComponentStateTracker();
        tracker.TransitionTo(StateCode.Stopping);

        Assert.Throws<InvalidOperationException>(() => tracker.TransitionTo(StateCode.Healthy));
        Assert.False(tracker.TryTransitionTo(StateCode.Abnormal));
        Assert.Equal(StateCode.Stopping, tracker.State);
    }

    [Fact]
    public async Task AComponentThatFailsToStartIsAbnormalWithTheReason()
    {
        var component = new FailingComponent();

        await Assert.ThrowsAsync<InvalidOperationException>(() => component.StartAsync(CancellationToken.None));
        var states = await component.GetComponentStatesAsync(CancellationToken.None);

        Assert.Equal(StateCode.Abnormal, states.State.StateCode);
        Assert.Equal(ErrorCode.NotReady, states.Status.ErrorCode);
        Assert.Contains(states.State.ExtraInfo, p => p is { Key: "reason", Value: "backend refused" });
    }

    [Fact]
    public async Task TheRegistryIsAbnormalWhileAnyComponentIsAndNamesIt()
    {
        var healthy = new StaticComponent("tso");
        var failing = new StaticComponent("rocksmq");
        var registry = new ComponentRegistry([healthy, failing]);
        registry.Root.TransitionTo(StateCode.Healthy);
        healthy.Tracker.TransitionTo(StateCode.Healthy);
        failing.Tracker.TransitionTo(StateCode.Abnormal, "disk full");

        var states = await registry.GetStatesAsync(CancellationToken.None);

        Assert.Equal(StateCode.Abnormal, states.State.StateCode);
        Assert.Equal(["tso", "rocksmq"], states.SubcomponentStates.Select(s => s.Role));
        Assert.Contains("rocksmq", states.Status.Reason, StringComparison.Ordinal);

        failing.Tracker.TransitionTo(StateCode.Healthy);
        Assert.Equal(StateCode.Healthy, (await registry.GetStatesAsync(CancellationToken.None)).State.StateCode);
    }

    private sealed class FailingComponent : ComponentBase
    {
        public override string Role => "failing";

        protected override Task<StateCode> OnStartAsync(CancellationToken cancellationToken) =>
            throw new InvalidOperationException("backend refused");
    }

    private sealed class StaticComponent(string role) : ComponentBase
    {
        public override string Role => role;
    }
}
