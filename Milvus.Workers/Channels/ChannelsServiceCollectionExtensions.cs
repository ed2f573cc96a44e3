using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Archive;
using Milvus.Domain.Channels;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.Tso;

namespace Milvus.Workers.Channels;

/// <summary>Registers the channel service.</summary>
public static class ChannelsServiceCollectionExtensions
{
    /// <summary>
    /// The <see cref="IChannelService"/> on the configured message queue, with owners in the meta store and names
    /// from the gateway's id allocator. When the archive is registered, destroying channels also stops their archiving
    /// graphs first and deletes their archived segments after (<see cref="ArchivingChannelService"/>).
    /// </summary>
    public static IServiceCollection AddMilvusChannels(this IServiceCollection services) =>
        services.AddSingleton<IChannelService>(sp =>
        {
            var channels = new ChannelService(
                sp.GetRequiredService<IMqClient>(),
                sp.GetRequiredService<ITxnKv>(),
                sp.GetRequiredService<IIdAllocator>(),
                sp.GetRequiredService<ILogger<ChannelService>>());
            return sp.GetService<ArchiveSupervisor>() is { } archive ? new ArchivingChannelService(channels, archive) : channels;
        });
}
