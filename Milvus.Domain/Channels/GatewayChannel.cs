using Milvus.Domain.Mq;

namespace Milvus.Domain.Channels;

/// <summary>
/// A channel that the gateway itself writes into for as long as it runs: the time tick channel and the statistics
/// channel. <see cref="EnsureAsync"/> creates it with an owner that names its writer, and a consumer group
/// <see cref="KeeperGroup"/> that <see cref="KeepAsync"/> moves to the latest msg at most once per
/// <see cref="KeepEvery"/>, so that the queue's retention rules (age and size of what every group has read) free
/// what the gateway wrote; without that group a channel keeps everything forever. A writer that finds its channel
/// destroyed calls <see cref="Lost"/>, and the next <see cref="EnsureAsync"/> makes it again. Not thread-safe: one
/// writer loop owns each instance.
/// </summary>
public sealed class GatewayChannel(string name, OwnerDescription owner, IChannelService channels, IMqClient mq, TimeProvider time)
{
    /// <summary>The group that stands for "read" on the gateway's own channels, so that retention applies to them.</summary>
    public const string KeeperGroup = "retention-keeper";

    /// <summary>How often the keeper group is moved to the latest msg.</summary>
    public static readonly TimeSpan KeepEvery = TimeSpan.FromMinutes(1);

    private bool _ready;
    private long _keptAt;

    /// <summary>The channel's name.</summary>
    public string Name => name;

    /// <summary>Creates the channel and its keeper group unless this instance knows they exist.</summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (_ready)
        {
            return;
        }
        if (!await mq.ChannelExistsAsync(name, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await channels.CreateChannelAsync(name, owner, cancellationToken).ConfigureAwait(false);
            }
            catch (MqChannelExistsException)
            {
                // Another gateway made it first.
            }
        }
        if (!await mq.ConsumerGroupExistsAsync(name, KeeperGroup, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await mq.CreateConsumerGroupAsync(name, KeeperGroup, MqStartPosition.Latest, cancellationToken).ConfigureAwait(false);
            }
            catch (MqGroupExistsException)
            {
                // Another gateway made it first.
            }
        }
        _ready = true;
        _keptAt = time.GetTimestamp();
    }

    /// <summary>After a write: moves the keeper group to the latest msg when <see cref="KeepEvery"/> has passed.</summary>
    public async Task KeepAsync(CancellationToken cancellationToken)
    {
        if (time.GetElapsedTime(_keptAt) < KeepEvery)
        {
            return;
        }
        await mq.SeekToAsync(name, KeeperGroup, MqStartPosition.Latest, cancellationToken).ConfigureAwait(false);
        _keptAt = time.GetTimestamp();
    }

    /// <summary>The channel or its group was found gone: the next <see cref="EnsureAsync"/> makes them again.</summary>
    public void Lost() => _ready = false;
}
