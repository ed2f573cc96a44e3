using Microsoft.Extensions.DependencyInjection;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Domain.MsgStream.Streams;
using Milvus.Tests.Api;

namespace Milvus.Tests.MsgStream.Streams;

/// <summary>The gateway registers the stream factory over its own queue.</summary>
public sealed class MsgStreamFactoryRegistrationTests
{
    [Fact]
    public async Task TheGatewaysFactoryMakesTimeTickedStreamsOverItsRocksMq()
    {
        using var factory = new GatewayFactory();
        using var client = factory.CreateClient();
        var streams = factory.Services.GetRequiredService<MsgStreamFactory>();
        await using var producer = streams.NewMsgStream();
        await using var consumer = streams.NewTtMsgStream();

        await producer.AsProducerAsync(["gw-ch"]);
        await producer.ProduceAsync(MsgPack.Of([new PayloadMsg(MsgType.Search) { Id = 1, BeginTs = 3, EndTs = 3, HashKeys = [0] }]));
        await producer.BroadcastAsync(MsgPack.Of([TimeTickMsg.At(4)]));
        await consumer.AsConsumerAsync(["gw-ch"], "gw-sub", MqStartPosition.Earliest);
        consumer.Start();
        var pack = await consumer.ConsumeAsync(TimeSpan.FromSeconds(30));

        Assert.NotNull(pack);
        Assert.Equal((0UL, 4UL, 1L), (pack.BeginTs, pack.EndTs, Assert.Single(pack.Msgs).Id));
        Assert.True(await factory.Services.GetRequiredService<IMqClient>().ConsumerGroupExistsAsync("gw-ch", "gw-sub"));
    }
}
