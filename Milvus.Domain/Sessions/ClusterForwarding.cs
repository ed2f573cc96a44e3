namespace Milvus.Domain.Sessions;

/// <summary>How one gateway of a cluster serves a call through another (the active TSO, a subscription's holder).</summary>
public static class ClusterForwarding
{
    /// <summary>Marks a request that a gateway forwards, so that it is never forwarded again.</summary>
    public const string Header = "X-Milvus-Forwarded-By";

    /// <summary>How long a forwarded allocation may take.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
}
