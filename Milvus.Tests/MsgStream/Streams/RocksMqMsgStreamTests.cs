using Milvus.Domain.Mq;
using Milvus.Tests.Mq.RocksMq;

namespace Milvus.Tests.MsgStream.Streams;

/// <summary>The message-stream contract on RocksMQ.</summary>
public sealed class RocksMqMsgStreamTests : MsgStreamContractTests
{
    private RocksMqHost? _host;

    protected override async Task<IMqClient> StartMqAsync() => (_host = await RocksMqHost.StartAsync()).Mq;

    protected override async Task StopMqAsync() => await _host!.DisposeAsync();
}
