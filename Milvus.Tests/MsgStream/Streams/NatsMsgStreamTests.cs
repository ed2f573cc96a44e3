using Milvus.Domain.Mq;
using Milvus.Tests.Mq.Nats;

namespace Milvus.Tests.MsgStream.Streams;

/// <summary>The message-stream contract, Milvus's time-ticked scenario included, on NATS JetStream.</summary>
public sealed class NatsMsgStreamTests : MsgStreamContractTests
{
    private NatsMqHost? _host;

    protected override async Task<IMqClient> StartMqAsync() => (_host = await NatsMqHost.StartAsync()).Mq;

    protected override async Task StopMqAsync() => await _host!.DisposeAsync();
}
