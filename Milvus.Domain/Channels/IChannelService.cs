namespace Milvus.Domain.Channels;

/// <summary>
/// The message stream service of seed 8.2: creates channels with fresh names for an owner, describes who owns
/// them, and destroys them atomically. A channel is a message-queue channel; its owner lives in the meta store,
/// so it survives a restart and is shared by every gateway on the same meta store.
/// </summary>
public interface IChannelService
{
    /// <summary>Creates <paramref name="numChannels"/> channels with new, unique names, all owned by <paramref name="owner"/>.</summary>
    /// <exception cref="ArgumentException">The owner has no role, or the count is outside 1 to <see cref="ChannelService.MaxChannels"/>.</exception>
    Task<IReadOnlyList<string>> CreateChannelsAsync(OwnerDescription owner, int numChannels, CancellationToken cancellationToken = default);

    /// <summary>Creates one channel with a chosen name, with an optional owner.</summary>
    /// <exception cref="Mq.MqChannelExistsException">The channel exists.</exception>
    /// <exception cref="Mq.MqInvalidNameException">The name is not a valid channel name.</exception>
    Task CreateChannelAsync(string channelName, OwnerDescription? owner, CancellationToken cancellationToken = default);

    /// <summary>Each named channel with its owner (an empty owner when none was given), in the order asked.</summary>
    /// <exception cref="ChannelsNotFoundException">Some names are unknown; it names them all.</exception>
    Task<IReadOnlyList<ChannelDescription>> DescribeChannelsAsync(IReadOnlyCollection<string> channelNames, CancellationToken cancellationToken = default);

    /// <summary>Destroys the named channels with their messages, groups and owners: all of them, or none when a name is unknown.</summary>
    /// <exception cref="ChannelsNotFoundException">Some names are unknown; nothing was destroyed.</exception>
    Task DestroyChannelsAsync(IReadOnlyCollection<string> channelNames, CancellationToken cancellationToken = default);

    /// <summary>Every channel name, in ordinal order.</summary>
    Task<IReadOnlyList<string>> ListChannelsAsync(CancellationToken cancellationToken = default);
}

/// <summary>Who owns a channel (seed 8.2 <c>OwnerDescription</c>).</summary>
public sealed record OwnerDescription(string Role, string Address, string DescriptionText)
{
    /// <summary>The owner of a channel created without one.</summary>
    public static OwnerDescription None { get; } = new("", "", "");
}

/// <summary>A channel and its owner (seed 8.2 <c>ChannelDescription</c>).</summary>
public sealed record ChannelDescription(string ChannelName, OwnerDescription Owner);

/// <summary>Some channel names are unknown (404); <see cref="Names"/> lists them.</summary>
internal sealed class ChannelsNotFoundException(IReadOnlyList<string> names)
    : Exception($"Unknown channels: {string.Join(", ", names.Select(n => $"'{n}'"))}."), IMilvusError
{
    public IReadOnlyList<string> Names { get; } = names;

    public ErrorKind Kind => ErrorKind.NotFound;
}
