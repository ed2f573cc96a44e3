using Milvus.Domain.Mq;
using Milvus.Tests.Mq.Redis;

namespace Milvus.Tests.MsgStream.Streams;

/// <summary>The message-stream contract, Milvus's time-ticked scenario included, on Redis Streams.</summary>
public sealed class RedisMsgStreamTests : MsgStreamContractTests
{
    private RedisMqHost? _host;

    protected override async Task<IMqClient> StartMqAsync() => (_host = await RedisMqHost.StartAsync()).Mq;

    protected override async Task StopMqAsync() => await _host!.DisposeAsync();
}
