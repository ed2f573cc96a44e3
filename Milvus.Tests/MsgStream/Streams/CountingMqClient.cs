using Milvus.Domain.Mq;

namespace Milvus.Tests.MsgStream.Streams;

/// <summary>A real queue client with a count of the messages that consumes have taken from it.</summary>
internal sealed class CountingMqClient(IMqClient inner) : IMqClient
{
    private long _consumed;

    public long Consumed => Interlocked.Read(ref _consumed);

    public async Task<IReadOnlyList<MqMessage>> ConsumeAsync(string channel, string group, int n, TimeSpan wait = default, CancellationToken cancellationToken = default)
    {
        var messages = await inner.ConsumeAsync(channel, group, n, wait, cancellationToken);
        Interlocked.Add(ref _consumed, messages.Count);
        return messages;
    }

    public Task CreateChannelAsync(string channel, CancellationToken cancellationToken = default) => inner.CreateChannelAsync(channel, cancellationToken);

    public Task DestroyChannelsAsync(IReadOnlyCollection<string> channels, CancellationToken cancellationToken = default) => inner.DestroyChannelsAsync(channels, cancellationToken);

    public Task<bool> ChannelExistsAsync(string channel, CancellationToken cancellationToken = default) => inner.ChannelExistsAsync(channel, cancellationToken);

    public Task<IReadOnlyList<string>> ListChannelsAsync(CancellationToken cancellationToken = default) => inner.ListChannelsAsync(cancellationToken);

    public Task CreateConsumerGroupAsync(string channel, string group, MqStartPosition position, CancellationToken cancellationToken = default) =>
        inner.CreateConsumerGroupAsync(channel, group, position, cancellationToken);

    public Task DestroyConsumerGroupAsync(string channel, string group, CancellationToken cancellationToken = default) => inner.DestroyConsumerGroupAsync(channel, group, cancellationToken);

    public Task<bool> ConsumerGroupExistsAsync(string channel, string group, CancellationToken cancellationToken = default) => inner.ConsumerGroupExistsAsync(channel, group, cancellationToken);

    public Task<IReadOnlyList<long>> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken = default) =>
        inner.ProduceAsync(channel, payloads, cancellationToken);

    public Task<ReadOnlyMemory<byte>?> FindProduceKeyAsync(string channel, string key, CancellationToken cancellationToken = default) =>
        inner.FindProduceKeyAsync(channel, key, cancellationToken);

    public Task<MqProduced> ProduceAsync(string channel, IReadOnlyList<ReadOnlyMemory<byte>> payloads, MqProduceKey key, CancellationToken cancellationToken = default) =>
        inner.ProduceAsync(channel, payloads, key, cancellationToken);

    public Task SeekAsync(string channel, string group, long msgId, CancellationToken cancellationToken = default) => inner.SeekAsync(channel, group, msgId, cancellationToken);

    public Task SeekToAsync(string channel, string group, MqStartPosition position, CancellationToken cancellationToken = default) => inner.SeekToAsync(channel, group, position, cancellationToken);

    public Task<long?> GetLatestMsgIdAsync(string channel, CancellationToken cancellationToken = default) => inner.GetLatestMsgIdAsync(channel, cancellationToken);
}
