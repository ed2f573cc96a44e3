using Milvus.Domain.Channels;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.Tso;

namespace Milvus.Api.Hosting;

/// <summary>Registers the channel service.</summary>
public static class ChannelsServiceCollectionExtensions
{
    /// <summary>
    /// The <see cref="IChannelService"/> on the configured message queue, with owners in the meta store and names
    /// from the gateway's id allocator (so <c>AddMilvusKv</c>, <c>AddMilvusTso</c> and <c>AddMilvusMq</c> come first).
    /// </summary>
    public static IServiceCollection AddMilvusChannels(this IServiceCollection services) =>
        services.AddSingleton<IChannelService>(sp => new ChannelService(
            sp.GetRequiredService<IMqClient>(),
            sp.GetRequiredService<ITxnKv>(),
            sp.GetRequiredService<IIdAllocator>(),
            sp.GetRequiredService<ILogger<ChannelService>>()));
}
