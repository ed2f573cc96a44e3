using System.Text.Json;
using System.Text.Json.Serialization;

namespace Milvus.Domain.Sessions;

/// <summary>One registered service, as stored under <c>session/</c> in the meta KV (seed A.2).</summary>
/// <param name="Key">The registration's key below <c>session/</c>: <c>name-id</c>, or <c>name</c> for an exclusive role's active holder.</param>
/// <param name="ServerId">The server id, from the counter at <c>session/id</c>.</param>
/// <param name="ServerName">The service's name (its role).</param>
/// <param name="Address">Where the service answers, e.g. <c>http://10.0.0.5:19530</c>.</param>
/// <param name="Exclusive">Whether only one server of this name may be active at a time.</param>
/// <param name="Stopping">Whether the server is shutting down gracefully.</param>
public sealed record SessionInfo(string Key, long ServerId, string ServerName, string Address, bool Exclusive, bool Stopping);

/// <summary>What happened to a registration.</summary>
public enum SessionEventType
{
    /// <summary>A server registered.</summary>
    Add,

    /// <summary>A registration changed, e.g. the server began stopping.</summary>
    Update,

    /// <summary>A registration went away: the server stopped, or its lease ended.</summary>
    Del,
}

/// <summary>One change of the registered services.</summary>
public sealed record SessionEvent(SessionEventType EventType, SessionInfo Session);

/// <summary>The registrations under a prefix and the meta KV revision they were read at.</summary>
public sealed record SessionList(IReadOnlyList<SessionInfo> Sessions, long Revision);

/// <summary>The stored JSON form of a registration, with the seed's field names.</summary>
internal static class SessionCodec
{
    /// <summary>Every registration lives below this prefix of the meta KV.</summary>
    public const string ServiceRoot = "session/";

    /// <summary>The key of the server id counter.</summary>
    public const string IdKey = ServiceRoot + "id";

    public static string Encode(SessionInfo info) =>
        JsonSerializer.Serialize(new Stored(info.ServerId, info.ServerName, info.Address, info.Exclusive, info.Stopping));

    /// <summary>The registration stored under <paramref name="key"/> (a full meta KV key), or null when the JSON is not one.</summary>
    public static SessionInfo? TryDecode(string key, string json)
    {
        try
        {
            var stored = JsonSerializer.Deserialize<Stored>(json);
            return stored is { ServerName.Length: > 0, ServerId: > 0 }
                ? new SessionInfo(key[ServiceRoot.Length..], stored.ServerId, stored.ServerName, stored.Address ?? "", stored.Exclusive, stored.Stopping)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record Stored(
        [property: JsonPropertyName("ServerID")] long ServerId,
        [property: JsonPropertyName("ServerName")] string ServerName,
        [property: JsonPropertyName("Address")] string? Address,
        [property: JsonPropertyName("Exclusive")] bool Exclusive,
        [property: JsonPropertyName("Stopping")] bool Stopping);
}
