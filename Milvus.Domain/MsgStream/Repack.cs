namespace Milvus.Domain.MsgStream;

/// <summary>
/// Splits messages among channels (message-stream seed, A.3): <paramref name="hashKeys"/>[i] holds the channel
/// indices of message i's keys (<c>key % channelCount</c>), and the result maps a channel index to the pack to
/// send there.
/// </summary>
public delegate IReadOnlyDictionary<int, MsgPack> RepackFunc(IReadOnlyList<TsMsg> msgs, IReadOnlyList<IReadOnlyList<int>> hashKeys);

/// <summary>The built-in repack functions.</summary>
public static class RepackFuncs
{
    /// <summary>The channel index of each of each message's hash keys.</summary>
    public static IReadOnlyList<IReadOnlyList<int>> ChannelIndices(IReadOnlyList<TsMsg> msgs, int channelCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channelCount, 1);
        var result = new IReadOnlyList<int>[msgs.Count];
        for (var i = 0; i < result.Length; i++)
        {
            // HashKeys of a rows message is built from its rows on every call: read it once.
            var keys = msgs[i].HashKeys;
            var indices = new int[keys.Count];
            for (var k = 0; k < indices.Length; k++)
            {
                indices[k] = (int)(keys[k] % (uint)channelCount);
            }
            result[i] = indices;
        }
        return result;
    }

    /// <summary>
    /// The default: Insert and Delete rows go each to the channel of its own key (a message is split when its
    /// rows disagree); every other message goes to the channel of its first key.
    /// </summary>
    /// <exception cref="ArgumentException">A message has no hash key, or its keys do not match its rows.</exception>
    public static IReadOnlyDictionary<int, MsgPack> Default(IReadOnlyList<TsMsg> msgs, IReadOnlyList<IReadOnlyList<int>> hashKeys)
    {
        Check(msgs, hashKeys);
        var result = new SortedDictionary<int, MsgPack>();
        for (var i = 0; i < msgs.Count; i++)
        {
            var msg = msgs[i];
            var keys = hashKeys[i];
            switch (msg)
            {
                case ISplittableMsg rows:
                    RequireRowKeys(msg, keys, rows.RowCount);
                    if (AllEqual(keys))
                    {
                        // Every row goes to one channel (always so for a one-row message): no split, no copy.
                        Add(result, keys[0], msg);
                        break;
                    }
                    foreach (var group in Enumerable.Range(0, rows.RowCount).GroupBy(r => keys[r]))
                    {
                        Add(result, group.Key, rows.WithRowsAt([.. group]));
                    }
                    break;
                default:
                    if (keys.Count == 0)
                    {
                        throw new ArgumentException($"Message {i} ({msg.Type}) has no hash key, so it cannot be routed to a channel.", nameof(msgs));
                    }
                    Add(result, keys[0], msg);
                    break;
            }
        }
        return result;
    }

    /// <summary>Every message to every one of <paramref name="channelCount"/> channels.</summary>
    public static IReadOnlyDictionary<int, MsgPack> Broadcast(IReadOnlyList<TsMsg> msgs, int channelCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channelCount, 1);
        return Enumerable.Range(0, channelCount).ToDictionary(c => c, _ => MsgPack.Of(msgs));
    }

    private static void Check(IReadOnlyList<TsMsg> msgs, IReadOnlyList<IReadOnlyList<int>> hashKeys)
    {
        ArgumentNullException.ThrowIfNull(msgs);
        ArgumentNullException.ThrowIfNull(hashKeys);
        if (msgs.Count != hashKeys.Count)
        {
            throw new ArgumentException($"There are {msgs.Count} messages but {hashKeys.Count} key lists.", nameof(hashKeys));
        }
    }

    private static void RequireRowKeys(TsMsg msg, IReadOnlyList<int> keys, int rows)
    {
        if (rows == 0 || keys.Count != rows)
        {
            throw new ArgumentException($"A {msg.Type} message needs one hash key per row; it has {rows} rows and {keys.Count} keys.", nameof(msg));
        }
    }

    private static bool AllEqual(IReadOnlyList<int> keys)
    {
        for (var k = 1; k < keys.Count; k++)
        {
            if (keys[k] != keys[0])
            {
                return false;
            }
        }
        return true;
    }

    private static void Add(SortedDictionary<int, MsgPack> packs, int channel, TsMsg msg)
    {
        if (!packs.TryGetValue(channel, out var pack))
        {
            packs[channel] = pack = new MsgPack();
        }
        pack.Msgs.Add(msg);
        pack.BeginTs = pack.Msgs.Count == 1 ? msg.BeginTs : Math.Min(pack.BeginTs, msg.BeginTs);
        pack.EndTs = Math.Max(pack.EndTs, msg.EndTs);
    }
}
