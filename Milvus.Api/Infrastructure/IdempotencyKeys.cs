using Milvus.Domain.Mq;

namespace Milvus.Api.Infrastructure;

/// <summary>
/// The <c>Idempotency-Key</c> request header of the produce routes: a client sends one key per logical write and the
/// same key on every retry of it; the write is stored at most once, and a retry answers what the first call stored,
/// with <c>Idempotent-Replayed: true</c>. The same key with another body is a 422.
/// </summary>
public static class IdempotencyKeys
{
    /// <summary>The request header that carries the key.</summary>
    public const string Header = "Idempotency-Key";

    /// <summary>The response header of an answer that repeats what an earlier call with the key stored.</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    /// <summary>The pattern of a key, as the OpenAPI document states it.</summary>
    public const string Pattern = "^[!-~]{1,255}$";

    /// <summary>
    /// The validation error of the request's key (the bound <paramref name="key"/>), or null when there is no key or it
    /// is valid. The header twice is an error, not two keys joined by a comma.
    /// </summary>
    public static Dictionary<string, string[]>? Check(string? key, HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers[Header].Count > 1)
        {
            return new() { [Header] = ["Send one Idempotency-Key header, not several."] };
        }
        return key is null || MqProduceKey.IsValid(key) ? null : new() { [Header] = [MqProduceKey.InvalidKeyMessage] };
    }

    /// <summary>Marks the answer as a replay.</summary>
    public static void MarkReplayed(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.Headers[ReplayedHeader] = "true";
    }
}
