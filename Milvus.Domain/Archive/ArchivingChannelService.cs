using Milvus.Domain.Channels;

namespace Milvus.Domain.Archive;

/// <summary>
/// The channel service with the archive kept in step: destroying channels stops their archiving graphs first, then
/// destroys the channels, then deletes their archived segments (metadata, then objects). Everything else is the
/// inner service's.
/// </summary>
public sealed class ArchivingChannelService(IChannelService inner, ArchiveSupervisor supervisor) : IChannelService
{
    public Task<IReadOnlyList<string>> CreateChannelsAsync(OwnerDescription owner, int numChannels, CancellationToken cancellationToken = default) =>
        inner.CreateChannelsAsync(owner, numChannels, cancellationToken);

    public Task CreateChannelAsync(string channelName, OwnerDescription? owner, CancellationToken cancellationToken = default) =>
        inner.CreateChannelAsync(channelName, owner, cancellationToken);

    public Task<IReadOnlyList<ChannelDescription>> DescribeChannelsAsync(IReadOnlyCollection<string> channelNames, CancellationToken cancellationToken = default) =>
        inner.DescribeChannelsAsync(channelNames, cancellationToken);

    public Task DestroyChannelsAsync(IReadOnlyCollection<string> channelNames, CancellationToken cancellationToken = default) =>
        supervisor.DestroyChannelsAsync(channelNames, token => inner.DestroyChannelsAsync(channelNames, token), cancellationToken);

    public Task<IReadOnlyList<string>> ListChannelsAsync(CancellationToken cancellationToken = default) => inner.ListChannelsAsync(cancellationToken);
}
