using dotnet_etcd;
using Etcdserverpb;
using Milvus.Domain.Kv.Etcd;

namespace Milvus.Tests.Infrastructure;

/// <summary>Administrative calls on a real etcd that the store's own interface does not offer.</summary>
public static class EtcdAdmin
{
    /// <summary>Compacts the history of the etcd at <paramref name="endpoints"/> before <paramref name="revision"/>.</summary>
    public static async Task CompactAsync(string endpoints, long revision)
    {
        using var channel = EtcdChannels.Create(endpoints, TimeSpan.FromSeconds(5));
        using var client = new EtcdClient(channel.CreateCallInvoker());
        await client.CompactAsync(new CompactionRequest { Revision = revision, Physical = true });
    }
}
