namespace Milvus.Tests.Infrastructure;

/// <summary>
/// Tests that run several gateway processes at once. They run alone, after the parallel tests, so that their
/// load does not starve the timing-sensitive tests running beside them on a small machine.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GatewayProcessCollection
{
    public const string Name = "Gateway processes";
}
