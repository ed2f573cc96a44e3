using System.Text.Json;
using Microsoft.Extensions.Logging;
using Milvus.Domain.Kv;
using Milvus.Domain.Mq;
using Milvus.Domain.Tso;

namespace Milvus.Domain.Channels;

/// <summary>
/// The channel service on an <see cref="IMqClient"/> and the meta store. A new channel is named
/// <c>channel-&lt;id&gt;</c> with an id from the global id allocator, so names are unique across gateways and
/// restarts. Owners are JSON values at <c>channels/owner/&lt;name&gt;</c> in the meta store (under its root path).
/// The queue holds the truth about which channels exist: the owner is written after the channel is created and
/// removed after it is destroyed, and an owner whose channel is gone is never reported.
/// </summary>
public sealed partial class ChannelService(IMqClient mq, ITxnKv meta, IIdAllocator ids, ILogger<ChannelService> logger) : IChannelService
{
    /// <summary>The most channels one create, describe or destroy may name.</summary>
    public const int MaxChannels = 1024;

    /// <summary>What every generated channel name starts with.</summary>
    public const string NamePrefix = "channel-";

    /// <summary>The meta key prefix of the owners.</summary>
    public const string OwnerPrefix = "channels/owner/";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<IReadOnlyList<string>> CreateChannelsAsync(OwnerDescription owner, int numChannels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (string.IsNullOrWhiteSpace(owner.Role))
        {
            throw new ArgumentException("The owner's role must not be empty.", nameof(owner));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(numChannels, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(numChannels, MaxChannels);
        var range = await ids.AllocAsync((uint)numChannels, cancellationToken).ConfigureAwait(false);
        var names = new List<string>(numChannels);
        for (var id = range.Begin; id < range.End; id++)
        {
            names.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{NamePrefix}{id}"));
        }
        var created = new List<string>(numChannels);
        try
        {
            foreach (var name in names)
            {
                await mq.CreateChannelAsync(name, cancellationToken).ConfigureAwait(false);
                created.Add(name);
            }
            await meta.MultiSaveAsync(names.ToDictionary(OwnerKey, _ => Serialize(owner)), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (created.Count > 0)
        {
            await UndoCreateAsync(created, ex).ConfigureAwait(false);
            throw;
        }
        Log.Created(logger, names.Count, owner.Role);
        return names;
    }

    public async Task CreateChannelAsync(string channelName, OwnerDescription? owner, CancellationToken cancellationToken = default)
    {
        MqNames.Validate(channelName, "channel");
        await mq.CreateChannelAsync(channelName, cancellationToken).ConfigureAwait(false);
        try
        {
            if (owner is null)
            {
                // An owner left behind by an earlier channel of this name (a destroy that could not reach the meta store).
                await meta.RemoveAsync(OwnerKey(channelName), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await meta.SaveAsync(OwnerKey(channelName), Serialize(owner), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            await UndoCreateAsync([channelName], ex).ConfigureAwait(false);
            throw;
        }
    }

    public async Task<IReadOnlyList<ChannelDescription>> DescribeChannelsAsync(IReadOnlyCollection<string> channelNames, CancellationToken cancellationToken = default)
    {
        var names = await KnownAsync(channelNames, cancellationToken).ConfigureAwait(false);
        var stored = await meta.LoadWithPrefixAsync(OwnerPrefix, cancellationToken).ConfigureAwait(false);
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < stored.Keys.Count; i++)
        {
            owners[stored.Keys[i][OwnerPrefix.Length..]] = stored.Values[i];
        }
        return [.. names.Select(n => new ChannelDescription(n, owners.TryGetValue(n, out var json) ? Deserialize(json) : OwnerDescription.None))];
    }

    public async Task DestroyChannelsAsync(IReadOnlyCollection<string> channelNames, CancellationToken cancellationToken = default)
    {
        var names = await KnownAsync(channelNames, cancellationToken).ConfigureAwait(false);
        await mq.DestroyChannelsAsync(names, cancellationToken).ConfigureAwait(false);
        await meta.MultiRemoveAsync([.. names.Select(OwnerKey)], cancellationToken).ConfigureAwait(false);
        Log.Destroyed(logger, names.Count);
    }

    public Task<IReadOnlyList<string>> ListChannelsAsync(CancellationToken cancellationToken = default) => mq.ListChannelsAsync(cancellationToken);

    /// <summary>The distinct names in the order given, once every one is known to exist.</summary>
    private async Task<List<string>> KnownAsync(IReadOnlyCollection<string> channelNames, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channelNames);
        if (channelNames.Count is 0 or > MaxChannels)
        {
            throw new ArgumentOutOfRangeException(nameof(channelNames), $"Name 1 to {MaxChannels} channels.");
        }
        foreach (var name in channelNames)
        {
            MqNames.Validate(name, "channel");
        }
        var names = channelNames.Distinct(StringComparer.Ordinal).ToList();
        var existing = (await mq.ListChannelsAsync(cancellationToken).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
        var unknown = names.Where(n => !existing.Contains(n)).ToList();
        return unknown.Count > 0 ? throw new ChannelsNotFoundException(unknown) : names;
    }

    /// <summary>Destroys channels that a failed create made; a failure here is logged, and the create's own error is what the caller sees.</summary>
    private async Task UndoCreateAsync(List<string> created, Exception cause)
    {
        try
        {
            await mq.DestroyChannelsAsync(created, CancellationToken.None).ConfigureAwait(false);
        }
        catch (MqException undoError)
        {
            Log.UndoFailed(logger, created.Count, cause.Message, undoError);
        }
    }

    private static string OwnerKey(string channel) => OwnerPrefix + channel;

    private static string Serialize(OwnerDescription owner) => JsonSerializer.Serialize(owner, Json);

    private static OwnerDescription Deserialize(string json) => JsonSerializer.Deserialize<OwnerDescription>(json, Json) ?? OwnerDescription.None;

    private static partial class Log
    {
        [LoggerMessage(EventId = 5401, Level = LogLevel.Information, Message = "Created {Count} channels for a {Role}.")]
        public static partial void Created(ILogger logger, int count, string role);

        [LoggerMessage(EventId = 5402, Level = LogLevel.Information, Message = "Destroyed {Count} channels with their owners.")]
        public static partial void Destroyed(ILogger logger, int count);

        [LoggerMessage(EventId = 5403, Level = LogLevel.Error, Message = "Could not destroy the {Count} channels of a failed create ({Cause}); they stay without an owner.")]
        public static partial void UndoFailed(ILogger logger, int count, string cause, Exception exception);
    }
}
