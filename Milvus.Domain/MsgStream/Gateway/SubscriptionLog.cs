using Microsoft.Extensions.Logging;

namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>
/// The log messages of the subscriptions, in one place because the registry and the sweeper both report an
/// unreadable checkpoint; each keeps the event id it has always had.
/// </summary>
internal static partial class SubscriptionLog
{
    [LoggerMessage(EventId = 6101, Level = LogLevel.Debug, Message = "Subscription {SubName} opened on {Channels} (timeTickAligned={Aligned}).")]
    public static partial void Opened(ILogger logger, string subName, string channels, bool aligned);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Debug, Message = "Subscription {SubName} ended.")]
    public static partial void Ended(ILogger logger, string subName);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Information, Message = "Subscription {SubName} expired after being idle.")]
    public static partial void Expired(ILogger logger, string subName);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Information, Message = "Subscription {SubName} resumed from its checkpoint on {Channels} (timeTickAligned={Aligned}).")]
    public static partial void Resumed(ILogger logger, string subName, string channels, bool aligned);

    [LoggerMessage(EventId = 6105, Level = LogLevel.Warning, Message = "The kept checkpoint of subscription {SubName} is unreadable; the idle sweep leaves it (delete the subscription to end it).")]
    public static partial void Unreadable(ILogger logger, Exception exception, string subName);

    [LoggerMessage(EventId = 6106, Level = LogLevel.Warning, Message = "Subscription {SubName}'s checkpoint names messages the queue no longer stores (retention trimmed them); those channels resume at their earliest stored message.")]
    public static partial void CheckpointTrimmed(ILogger logger, string subName);

    [LoggerMessage(EventId = 6107, Level = LogLevel.Error, Message = "Subscription {SubName} could not go on from its checkpoint after a failed seek, so it ended.")]
    public static partial void RestoreFailed(ILogger logger, Exception exception, string subName);

    [LoggerMessage(EventId = 6108, Level = LogLevel.Information, Message = "Subscription {SubName} is held by another gateway now; this one let go of it (its groups and checkpoint stay).")]
    public static partial void LetGo(ILogger logger, string subName);
}
