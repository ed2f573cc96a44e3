using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Milvus.Domain.Components;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.MsgStream;
using Milvus.Workers.Kv;

namespace Milvus.Tests.Hardening;

/// <summary>
/// What a client and the stores can observe of a gateway: the answer of every GET route without parameters,
/// the meta and object store keys, and every channel with its latest msg id and the known groups. Two
/// snapshots taken back to back tell which GET answers move by themselves (clocks, counters); those are left
/// out of the comparison, so new routes join it without edits. The channels the gateway writes into itself (time
/// ticks, statistics) grow by design, so their latest msg ids are not part of the snapshot.
/// </summary>
public sealed class GatewayStateSnapshot
{
    private readonly SortedDictionary<string, string> _entries = new(StringComparer.Ordinal);

    /// <summary>Takes a snapshot.</summary>
    public static async Task<GatewayStateSnapshot> TakeAsync(
        HttpClient client, IServiceProvider services, IReadOnlyList<ApiOperation> operations, IReadOnlyDictionary<string, string> knownGroups)
    {
        var snapshot = new GatewayStateSnapshot();
        foreach (var operation in operations.Where(o => o.Method == "GET" && o.Parameters.All(p => p.In != "path" && !p.Required)))
        {
            using var response = await client.GetAsync(operation.PathTemplate, HttpCompletionOption.ResponseHeadersRead);
            // An event stream never ends by itself: its status tells enough, and disposing the answer closes it.
            snapshot._entries[$"GET {operation.PathTemplate}"] = response.Content.Headers.ContentType?.MediaType == "text/event-stream"
                ? $"{(int)response.StatusCode} event stream"
                : $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
        }
        var meta = await services.GetRequiredService<IMetaKv>().LoadWithPrefixAsync("");
        snapshot._entries["meta-kv keys"] = string.Join('\n', meta.Keys.Order(StringComparer.Ordinal));
        var objects = await services.GetRequiredKeyedService<IBaseKv>(KvServiceCollectionExtensions.ObjectStoreKey).LoadWithPrefixAsync("");
        snapshot._entries["object keys"] = string.Join('\n', objects.Keys.Order(StringComparer.Ordinal));
        var mq = services.GetRequiredService<IMqClient>();
        string[] ownChannels = [services.GetRequiredService<IOptions<TimeTickOptions>>().Value.Channel, services.GetRequiredService<ComponentRegistry>().StatisticsChannel];
        var channels = new StringBuilder();
        foreach (var channel in await mq.ListChannelsAsync())
        {
            channels.Append(channel);
            if (!ownChannels.Contains(channel))
            {
                channels.Append(" latest=").Append(await mq.GetLatestMsgIdAsync(channel));
            }
            channels.Append('\n');
            foreach (var (groupChannel, group) in knownGroups)
            {
                if (groupChannel == channel)
                {
                    channels.Append("  group ").Append(group).Append(' ').Append(await mq.ConsumerGroupExistsAsync(channel, group)).Append('\n');
                }
            }
        }
        snapshot._entries["mq channels"] = channels.ToString();
        return snapshot;
    }

    /// <summary>The entries that differ between two snapshots.</summary>
    public IReadOnlyList<string> Differences(GatewayStateSnapshot other) =>
        [.. _entries.Keys.Union(other._entries.Keys)
            .Where(k => !_entries.TryGetValue(k, out var a) || !other._entries.TryGetValue(k, out var b) || a != b)];

    /// <summary>A snapshot without the named entries.</summary>
    public GatewayStateSnapshot Without(IEnumerable<string> keys)
    {
        var copy = new GatewayStateSnapshot();
        foreach (var (key, value) in _entries)
        {
            copy._entries[key] = value;
        }
        foreach (var key in keys)
        {
            copy._entries.Remove(key);
        }
        return copy;
    }

    /// <summary>One entry, for failure messages.</summary>
    public string this[string key] => _entries.TryGetValue(key, out var value) ? value : "(absent)";
}
