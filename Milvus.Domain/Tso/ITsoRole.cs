namespace Milvus.Domain.Tso;

/// <summary>
/// The TSO role as this gateway sees it: whether it serves timestamps and ids itself, or which gateway does. The
/// role is exclusive across the gateways that share a meta KV; a standby sends its callers to the active one.
/// </summary>
public interface ITsoRole
{
    /// <summary>Whether this gateway answers timestamp and id requests itself.</summary>
    bool Serves { get; }

    /// <summary>The address of the active gateway as this one last saw it, or null when none is known.</summary>
    string? ActiveAddress { get; }

    /// <summary>This gateway's node id, which marks the requests it forwards.</summary>
    long NodeId { get; }

    /// <summary>Why no active TSO can be reached, for a 503 that says what to do.</summary>
    string NoActiveReason();
}
