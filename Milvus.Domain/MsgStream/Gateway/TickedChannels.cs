using System.Collections.Concurrent;
using Milvus.Domain.Kv;

namespace Milvus.Domain.MsgStream.Gateway;

/// <summary>
/// The channels that get the cluster's time tick: every channel that a msgstream produce has written into, on any
/// gateway, recorded in the meta KV under <c>timetick/channels/&lt;name&gt;</c> so that the ticking gateway finds
/// them all, also after a restart. A channel written only through the message-queue level routes is not ticked,
/// so its raw consumers never see time tick messages they did not write. Each gateway records a channel once per
/// <see cref="RefreshAfter"/> (a record that the ticker removed because the channel was destroyed comes back
/// with the next produce into a channel of the same name).
/// </summary>
public sealed class TickedChannels(ITxnKv meta, TimeProvider time)
{
    /// <summary>Where the records live, under the meta KV's root path.</summary>
    public const string Prefix = "timetick/channels/";

    /// <summary>How long a gateway trusts its own record of a channel before it writes it again.</summary>
    public static readonly TimeSpan RefreshAfter = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, long> _recorded = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether this gateway recorded <paramref name="channel"/> within <see cref="RefreshAfter"/>, so that a produce
    /// into it stores no record of its own.
    /// </summary>
    public bool IsRecorded(string channel) =>
        _recorded.TryGetValue(channel, out var at) && time.GetElapsedTime(at) < RefreshAfter;

    /// <summary>Records <paramref name="channels"/> as ticked channels, writing only those not recorded lately.</summary>
    public async ValueTask RecordAsync(IReadOnlyList<string> channels, CancellationToken cancellationToken = default)
    {
        var now = time.GetTimestamp();
        Dictionary<string, string>? missing = null;
        foreach (var channel in channels)
        {
            if (!_recorded.TryGetValue(channel, out var at) || time.GetElapsedTime(at, now) >= RefreshAfter)
            {
                (missing ??= new(StringComparer.Ordinal))[Prefix + channel] = "";
            }
        }
        if (missing is null)
        {
            return;
        }
        await meta.MultiSaveAsync(missing, cancellationToken).ConfigureAwait(false);
        foreach (var key in missing.Keys)
        {
            _recorded[key[Prefix.Length..]] = now;
        }
    }

    /// <summary>Every recorded channel, in ordinal order.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken = default)
    {
        var pairs = await meta.LoadWithPrefixAsync(Prefix, cancellationToken).ConfigureAwait(false);
        return [.. pairs.Keys.Where(k => k.StartsWith(Prefix, StringComparison.Ordinal)).Select(k => k[Prefix.Length..]).Order(StringComparer.Ordinal)];
    }

    /// <summary>Drops the record of a channel that no longer exists.</summary>
    public async Task ForgetAsync(string channel, CancellationToken cancellationToken = default)
    {
        _recorded.TryRemove(channel, out _);
        await meta.RemoveAsync(Prefix + channel, cancellationToken).ConfigureAwait(false);
    }
}
