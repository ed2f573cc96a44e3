namespace Milvus.Domain.Mq;

/// <summary>A message-queue error; its <see cref="Kind"/> says how callers (and HTTP) treat it.</summary>
public abstract class MqException(ErrorKind kind, string message, Exception? inner = null) : Exception(message, inner), IMilvusError
{
    public ErrorKind Kind { get; } = kind;
}

/// <summary>The channel does not exist (404).</summary>
public sealed class MqChannelNotFoundException(string channel)
    : MqException(ErrorKind.NotFound, $"Channel '{channel}' does not exist.")
{
    public string Channel { get; } = channel;
}

/// <summary>The channel already exists (409).</summary>
public sealed class MqChannelExistsException(string channel)
    : MqException(ErrorKind.Conflict, $"Channel '{channel}' already exists.")
{
    public string Channel { get; } = channel;
}

/// <summary>The consumer group does not exist on the channel (404).</summary>
public sealed class MqGroupNotFoundException(string channel, string group)
    : MqException(ErrorKind.NotFound, $"Consumer group '{group}' does not exist on channel '{channel}'.");

/// <summary>The consumer group already exists on the channel (409).</summary>
public sealed class MqGroupExistsException(string channel, string group)
    : MqException(ErrorKind.Conflict, $"Consumer group '{group}' already exists on channel '{channel}'.");

/// <summary>No message with the id is stored on the channel (404).</summary>
public sealed class MqMsgIdNotFoundException(string channel, long msgId)
    : MqException(ErrorKind.NotFound, $"Channel '{channel}' holds no message with id {msgId}.");

/// <summary>A channel or group name breaks the naming rule (400).</summary>
public sealed class MqInvalidNameException(string what, string? name)
    : MqException(ErrorKind.Invalid, $"The {what} name '{name}' is not valid: use 1 to 255 letters, digits, '_', '-' or '.'.");

/// <summary>An argument is out of range, e.g. an empty batch (400).</summary>
public sealed class MqInvalidArgumentException(string message) : MqException(ErrorKind.Invalid, message);

/// <summary>A payload is larger than the configured limit (413).</summary>
public sealed class MqMessageTooLargeException(long size, long limit)
    : MqException(ErrorKind.TooLarge, $"A payload has {size} bytes; the limit is {limit}.");

/// <summary>An idempotency key was used on the channel for another batch (422); nothing was stored.</summary>
public sealed class MqIdempotencyKeyReusedException(string channel, string key)
    : MqException(
        ErrorKind.KeyReused,
        $"The idempotency key '{key}' was used on channel '{channel}' for a different batch; nothing was stored. Use a new key for a new batch.")
{
    public string Channel { get; } = channel;

    public string Key { get; } = key;
}

/// <summary>The queue's store is closed or failing (503).</summary>
public sealed class MqUnavailableException(string message, Exception? inner = null) : MqException(ErrorKind.Unavailable, message, inner);
