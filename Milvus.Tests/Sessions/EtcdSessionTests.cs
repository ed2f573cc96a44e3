using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Etcd;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Sessions;

/// <summary>Sessions on the real etcd that scripts/test.sh starts; leases run on etcd's own clock.</summary>
public sealed class EtcdSessionTests : SessionContractTests
{
    protected override TimeProvider Time => TimeProvider.System;

    protected override Task<IMetaKv> OpenAsync(string root) => Task.FromResult<IMetaKv>(new EtcdKv(TestServers.EtcdEndpoints, root));

    // etcd's clock runs by itself: the lease tests wait on the outcome instead.
    protected override void AdvanceTime(TimeSpan by)
    {
    }

    protected override Task CompactAsync(long revision) => EtcdAdmin.CompactAsync(TestServers.EtcdEndpoints, revision);
}
