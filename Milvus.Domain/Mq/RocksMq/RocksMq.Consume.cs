using RocksDbSharp;

namespace Milvus.Domain.Mq.RocksMq;

/// <summary>RocksMQ's consume, seek and latest id: reads of the data family from a group's position.</summary>
public sealed partial class RocksMq
{
    public async Task<IReadOnlyList<MqMessage>> ConsumeAsync(string channel, string group, int n, TimeSpan wait = default, CancellationToken cancellationToken = default)
    {
        MqNames.ValidateConsume(channel, group, n, wait);
        var started = time.GetTimestamp();
        while (true)
        {
            Task signal;
            IReadOnlyList<MqMessage> messages;
            using (database.Acquire())
            {
                var state = GetChannel(channel);
                // Take the signal before looking: a produce after the look completes this very task.
                signal = state.NextSignal;
                messages = ConsumeNow(state, group, n);
            }
            if (messages.Count > 0 || wait <= TimeSpan.Zero)
            {
                return messages;
            }
            var remaining = wait - time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                return [];
            }
            try
            {
                await signal.WaitAsync(remaining, time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return [];
            }
        }
    }

    public Task SeekAsync(string channel, string group, long msgId, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        using var lease = database.Acquire();
        var state = GetChannel(channel);
        var target = GetGroup(state, group);
        lock (target.Gate)
        {
            ThrowIfGone(state, target);
            bool exists;
            try
            {
                exists = msgId > 0 && database.Db.HasKey(RocksMqKeys.DataKey(state.DataPrefix, msgId), database.Data, null);
            }
            catch (RocksDbException ex)
            {
                throw database.Fail(ex, "look up a message");
            }
            if (!exists)
            {
                throw new MqMsgIdNotFoundException(channel, msgId);
            }
            MoveGroup(target, msgId);
        }
        state.Notify();
        return Task.CompletedTask;
    }

    public Task SeekToAsync(string channel, string group, MqStartPosition position, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        MqNames.Validate(group, "group");
        using var lease = database.Acquire();
        var state = GetChannel(channel);
        var target = GetGroup(state, group);
        lock (target.Gate)
        {
            ThrowIfGone(state, target);
            // Retention changes BeginId only while it holds every group's gate, this one included.
            MoveGroup(target, position switch
            {
                MqStartPosition.Earliest => state.BeginId,
                MqStartPosition.Latest => state.EndId + 1,
                _ => throw new MqInvalidArgumentException($"Position {position} is neither earliest nor latest."),
            });
        }
        state.Notify();
        return Task.CompletedTask;
    }

    public Task<long?> GetLatestMsgIdAsync(string channel, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channel, "channel");
        using var lease = database.Acquire();
        var endId = GetChannel(channel).EndId;
        return Task.FromResult<long?>(endId == 0 ? null : endId);
    }

    private IReadOnlyList<MqMessage> ConsumeNow(RocksMqChannel state, string group, int n)
    {
        var target = GetGroup(state, group);
        lock (target.Gate)
        {
            ThrowIfGone(state, target);
            var endId = state.EndId;
            if (target.Position > endId)
            {
                return [];
            }
            // Ids are unique and increasing, so [position, endId] holds at most endId - position + 1 messages.
            var messages = new List<MqMessage>((int)Math.Min(n, endId - target.Position + 1));
            try
            {
                Span<byte> start = stackalloc byte[state.DataPrefix.Length + sizeof(long)];
                RocksMqKeys.WriteDataKey(state.DataPrefix, target.Position, start);
                using var it = database.Db.NewIterator(database.Data, state.DataReadOptions);
                for (it.Seek(start); it.Valid() && messages.Count < n; it.Next())
                {
                    messages.Add(new MqMessage(RocksMqKeys.MsgIdOf(it.GetKeySpan()), it.GetValueSpan().ToArray()));
                }
            }
            catch (RocksDbException ex)
            {
                throw database.Fail(ex, "read messages");
            }
            if (messages.Count > 0)
            {
                MoveGroup(target, messages[^1].MsgId + 1);
            }
            return messages;
        }
    }

    /// <summary>Persists and mirrors a group's new position; the caller holds the group's gate.</summary>
    private void MoveGroup(RocksMqGroup group, long position)
    {
        Put(group.MetaKey, position, "move a consumer group");
        group.Position = position;
    }
}
