namespace Milvus.Domain.Mq;

/// <summary>
/// The seam that every message-queue backend implements (RocksMQ embedded, Redis Streams, later Pulsar or Kafka).
/// A channel is an ordered log of messages with increasing 64-bit ids; a consumer group is a named, persisted
/// read position on one channel. Names match <see cref="MqNames.Pattern"/>. Errors are <see cref="MqException"/>s.
/// </summary>
public interface IMqClient
{
    /// <summary>Creates an empty channel.</summary>
    /// <exception cref="MqChannelExistsException">The channel exists.</exception>
    /// <exception cref="MqInvalidNameException">The name is not a valid channel name.</exception>
    Task CreateChannelAsync(string channel, CancellationToken cancellationToken = default);

    /// <summary>
    /// Destroys channels with their messages, consumer groups and meta, all in one atomic step: if any name is
    /// unknown, nothing is destroyed. Consumers waiting on a destroyed channel wake with an error.
    /// </summary>
    /// <exception cref="MqChannelNotFoundException">A channel does not exist; nothing was destroyed.</exception>
    Task DestroyChannelsAsync(IReadOnlyCollection<string> channels, CancellationToken cancellationToken = default);

    /// <summary>Whether the channel exists.</summary>
    Task<bool> ChannelExistsAsync(string channel, CancellationToken cancellationToken = default);

    /// <summary>Every channel, in ordinal name order.</summary>
    Task<IReadOnlyList<string>> ListChannelsAsync(CancellationToken cancellationToken = default);

    /// <summary>Creates a consumer group on a channel, positioned at the earliest retained message or after the latest.</summary>
    /// <exception cref="MqChannelNotFoundException">The channel does not exist.</exception>
    /// <exception cref="MqGroupExistsException">The group exists on this channel.</exception>
    Task CreateConsumerGroupAsync(string channel, string group, MqStartPosition position, CancellationToken cancellationToken = default);

    /// <summary>Destroys a consumer group and its position.</summary>
    /// <exception cref="MqChannelNotFoundException">The channel does not exist.</exception>
    /// <exception cref="MqGroupNotFoundException">The group does not exist on this channel.</exception>
    Task DestroyConsumerGroupAsync(string channel, string group, CancellationToken cancellationToken = default);

    /// <summary>Whether the group exists on the channel (false when the channel does not exist).</summary>
    Task<bool> ConsumerGroupExistsAsync(string channel, string group, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends a batch of payloads atomically and returns their ids, increasing and in order. When this returns,
    /// the batch is durable as the backend's durability setting promises.
    /// </summary>
    /// <exception cref="MqChannelNotFoundException">The channel does not exist.</exception>
    /// <exception cref="MqInvalidArgumentException">The batch is empty.</exception>
    Task<IReadOnlyList<long>> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends a batch at most once per idempotency key on the channel. The first call with a key stores the batch
    /// and, in the same atomic write, the key's record (its fingerprint, the batch's ids and the caller's note). A
    /// later call with the key and the same fingerprint, within the key's lifetime, stores nothing and answers the
    /// first call's ids and note as replayed. So a call whose outcome the caller could not learn (its own timeout, a
    /// 503 that said "unknown", a gateway killed mid-call) can be repeated without storing the batch twice.
    /// </summary>
    /// <exception cref="MqChannelNotFoundException">The channel does not exist.</exception>
    /// <exception cref="MqInvalidArgumentException">The batch is empty.</exception>
    /// <exception cref="MqIdempotencyKeyReusedException">The key was used on the channel for a batch of another fingerprint.</exception>
    Task<MqProduced> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, MqProduceKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// The fingerprint stored with a live idempotency key on the channel, or null when the key is unknown, expired or
    /// the channel does not exist. A caller that writes one request into several channels looks first, so that a key
    /// used before for another request fails the call before any channel is written.
    /// </summary>
    Task<ReadOnlyMemory<byte>?> FindProduceKeyAsync(string channel, string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns up to <paramref name="n"/> messages from the group's position and moves the persisted position past
    /// them. When the group is caught up it returns an empty list at once, or, with a positive
    /// <paramref name="wait"/>, waits up to that long for a first message.
    /// </summary>
    /// <exception cref="MqChannelNotFoundException">The channel does not exist (or was destroyed while waiting).</exception>
    /// <exception cref="MqGroupNotFoundException">The group does not exist (or was destroyed while waiting).</exception>
    /// <exception cref="MqInvalidArgumentException"><paramref name="n"/> is below 1.</exception>
    Task<IReadOnlyList<MqMessage>> ConsumeAsync(string channel, string group, int n, TimeSpan wait = default, CancellationToken cancellationToken = default);

    /// <summary>Moves the group so that its next message is <paramref name="msgId"/> (inclusive), forwards or backwards.</summary>
    /// <exception cref="MqMsgIdNotFoundException">No message with that id is stored on the channel.</exception>
    Task SeekAsync(string channel, string group, long msgId, CancellationToken cancellationToken = default);

    /// <summary>Moves the group to the earliest retained message or past the latest one.</summary>
    Task SeekToAsync(string channel, string group, MqStartPosition position, CancellationToken cancellationToken = default);

    /// <summary>The id of the latest message produced on the channel, or null when none was.</summary>
    Task<long?> GetLatestMsgIdAsync(string channel, CancellationToken cancellationToken = default);
}

/// <summary>Where a consumer group starts or seeks to.</summary>
public enum MqStartPosition
{
    /// <summary>The earliest message still retained.</summary>
    Earliest = 0,

    /// <summary>After the latest message: only messages produced from now on.</summary>
    Latest = 1,
}

/// <summary>
/// A consumed message. Its payload is never reused or overwritten by the queue, so it may be kept (and decoded
/// lazily) for as long as needed.
/// </summary>
public readonly record struct MqMessage(long MsgId, ReadOnlyMemory<byte> Payload);

/// <summary>Conveniences over <see cref="IMqClient"/>.</summary>
public static class MqClientExtensions
{
    /// <summary>Destroys one channel with its messages, groups and meta (seed A.4 <c>DestroyChannel</c>).</summary>
    /// <exception cref="MqChannelNotFoundException">The channel does not exist.</exception>
    public static Task DestroyChannelAsync(this IMqClient mq, string channel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mq);
        return mq.DestroyChannelsAsync([channel], cancellationToken);
    }
}
