namespace Milvus.Domain.Kv;

/// <summary>Lease timing shared by the <see cref="IMetaKv"/> backends.</summary>
internal static class MetaKvLeases
{
    private static readonly TimeSpan MinKeepAliveInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How often a lease of <paramref name="ttlSeconds"/> is refreshed: every third of its TTL, as etcd's own client does.</summary>
    public static TimeSpan KeepAliveInterval(long ttlSeconds)
    {
        var third = TimeSpan.FromSeconds(ttlSeconds) / 3;
        return third < MinKeepAliveInterval ? MinKeepAliveInterval : third;
    }
}
