using System.Collections.Immutable;

namespace Milvus.Domain.Components;

/// <summary>
/// Holds one component's state and checks its transitions. Stopping is final; every other state may be left
/// for Stopping. Thread-safe.
/// </summary>
public sealed class ComponentStateTracker
{
    private static readonly IReadOnlyDictionary<StateCode, StateCode[]> Allowed = new Dictionary<StateCode, StateCode[]>
    {
        [StateCode.Initializing] = [StateCode.Healthy, StateCode.StandBy, StateCode.Abnormal, StateCode.Stopping],
        [StateCode.Healthy] = [StateCode.Abnormal, StateCode.StandBy, StateCode.Stopping],
        [StateCode.Abnormal] = [StateCode.Healthy, StateCode.StandBy, StateCode.Initializing, StateCode.Stopping],
        [StateCode.StandBy] = [StateCode.Healthy, StateCode.Abnormal, StateCode.Stopping],
        [StateCode.Stopping] = [],
    };

    private readonly Lock _gate = new();
    private StateCode _state = StateCode.Initializing;
    private string _reason = "";
    private ImmutableSortedDictionary<string, string> _extra = ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);

    /// <summary>Raised after each change of state, with the old and the new state.</summary>
    public event Action<StateCode, StateCode>? Changed;

    /// <summary>The current state.</summary>
    public StateCode State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>Why the component is in its state, when it is not Healthy (empty otherwise).</summary>
    public string Reason
    {
        get
        {
            lock (_gate)
            {
                return _reason;
            }
        }
    }

    /// <summary>Moves to <paramref name="next"/>. Staying in the same state only updates the reason.</summary>
    /// <exception cref="InvalidOperationException">The transition is not allowed (for example, out of Stopping).</exception>
    public void TransitionTo(StateCode next, string reason = "")
    {
        StateCode previous;
        lock (_gate)
        {
            previous = _state;
            if (previous != next && !Allowed[previous].Contains(next))
            {
                throw new InvalidOperationException($"A component cannot go from {previous} to {next}.");
            }
            _state = next;
            _reason = reason;
        }
        if (previous != next)
        {
            Changed?.Invoke(previous, next);
        }
    }

    /// <summary>Moves to <paramref name="next"/> unless the transition is not allowed; returns whether it moved.</summary>
    public bool TryTransitionTo(StateCode next, string reason = "")
    {
        lock (_gate)
        {
            if (_state != next && !Allowed[_state].Contains(next))
            {
                return false;
            }
        }
        TransitionTo(next, reason);
        return true;
    }

    /// <summary>Sets or replaces an extra-info entry.</summary>
    public void SetExtra(string key, string value)
    {
        lock (_gate)
        {
            _extra = _extra.SetItem(key, value);
        }
    }

    /// <summary>The component's info, with the reason as extra info when there is one.</summary>
    public ComponentInfo ToInfo(long nodeId, string role)
    {
        lock (_gate)
        {
            var extra = _extra.Select(p => new ExtraInfoPair(p.Key, p.Value)).ToList();
            if (_reason.Length > 0)
            {
                extra.Add(new ExtraInfoPair("reason", _reason));
            }
            return new ComponentInfo(nodeId, role, _state, extra);
        }
    }
}
