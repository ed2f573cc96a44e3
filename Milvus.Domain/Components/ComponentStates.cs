namespace Milvus.Domain.Components;

/// <summary>The life-cycle state of a component (seed A.1, extended with StandBy and Stopping).</summary>
public enum StateCode
{
    /// <summary>Starting; not serving yet.</summary>
    Initializing = 0,

    /// <summary>Serving.</summary>
    Healthy = 1,

    /// <summary>Started, but a backend it depends on is failing.</summary>
    Abnormal = 2,

    /// <summary>Ready to take over an exclusive role that another process holds.</summary>
    StandBy = 3,

    /// <summary>Shutting down.</summary>
    Stopping = 4,
}

/// <summary>The outcome code of a status.</summary>
public enum ErrorCode
{
    Success = 0,
    UnexpectedError = 1,
    NotReady = 2,
}

/// <summary>A key-value pair of extra information.</summary>
public sealed record ExtraInfoPair(string Key, string Value);

/// <summary>The outcome of a call, as Milvus's <c>commonpb.Status</c>.</summary>
public sealed record Status(ErrorCode ErrorCode, string Reason)
{
    public static Status Success { get; } = new(ErrorCode.Success, "");
}

/// <summary>One component's identity and state.</summary>
public sealed record ComponentInfo(long NodeId, string Role, StateCode StateCode, IReadOnlyList<ExtraInfoPair> ExtraInfo);

/// <summary>A component's state with the states of its subcomponents.</summary>
public sealed record ComponentStates(ComponentInfo State, IReadOnlyList<ComponentInfo> SubcomponentStates, Status Status);
