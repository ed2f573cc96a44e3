using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Milvus.Domain;
using Milvus.Domain.Allocation;
using Milvus.Domain.Tso;

namespace Milvus.Workers.Tso.Http;

/// <summary>
/// A typed <see cref="HttpClient"/> client of a gateway's <c>/api/v1/tso</c> and <c>/api/v1/ids</c>, for other
/// .NET processes. Give it an <see cref="HttpClient"/> whose <see cref="HttpClient.BaseAddress"/> is the
/// gateway (for example through <c>AddHttpClient&lt;GatewayAllocationClient&gt;</c>), and wrap it in an
/// <see cref="IdAllocator"/> or a <see cref="TimestampAllocator"/> to batch calls. A gateway that cannot be
/// reached, or answers with an error, raises <see cref="GatewayAllocationException"/>.
/// </summary>
public sealed class GatewayAllocationClient(HttpClient http) : ITimestampAllocator, IIdAllocator
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is 0 or larger than 262144.</exception>
    public async ValueTask<HybridTimestamp> AllocAsync(uint count, CancellationToken cancellationToken = default)
    {
        if (count is 0 or > (uint)HybridTimestamp.LogicalRange)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"A batch holds 1 to {HybridTimestamp.LogicalRange} timestamps.");
        }
        var answer = await PostAsync<TimestampRequest, TimestampResponse>("api/v1/tso", new TimestampRequest(count), cancellationToken).ConfigureAwait(false);
        return new HybridTimestamp(answer.Timestamp);
    }

    public ValueTask<HybridTimestamp> AllocOneAsync(CancellationToken cancellationToken = default) => AllocAsync(1, cancellationToken);

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is 0 or larger than 1000000.</exception>
    async ValueTask<IdRange> IIdAllocator.AllocAsync(uint count, CancellationToken cancellationToken) =>
        await AllocIdsAsync(count, cancellationToken).ConfigureAwait(false);

    async ValueTask<long> IIdAllocator.AllocOneAsync(CancellationToken cancellationToken) =>
        (await AllocIdsAsync(1, cancellationToken).ConfigureAwait(false)).Begin;

    /// <summary>A new range of <paramref name="count"/> ids.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is 0 or larger than 1000000.</exception>
    public async Task<IdRange> AllocIdsAsync(uint count, CancellationToken cancellationToken = default)
    {
        if (count is 0 or > IdAllocator.MaxCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"A batch holds 1 to {IdAllocator.MaxCount} ids.");
        }
        var answer = await PostAsync<IdRequest, IdResponse>("api/v1/ids", new IdRequest(count), cancellationToken).ConfigureAwait(false);
        return new IdRange(answer.Begin, answer.End);
    }

    private async Task<TResponse> PostAsync<TRequest, TResponse>(string path, TRequest body, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsJsonAsync(path, body, Json, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new GatewayAllocationException(ErrorKind.Unavailable, null, $"The gateway at {http.BaseAddress} cannot be reached: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new GatewayAllocationException(ErrorKind.Unavailable, null, $"The gateway at {http.BaseAddress} did not answer in time.", ex);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var detail = await ReadDetailAsync(response, cancellationToken).ConfigureAwait(false);
                throw new GatewayAllocationException(KindOf(response.StatusCode), response.StatusCode, $"POST /{path} answered {(int)response.StatusCode}: {detail}");
            }
            return await response.Content.ReadFromJsonAsync<TResponse>(Json, cancellationToken).ConfigureAwait(false)
                ?? throw new GatewayAllocationException(ErrorKind.Unavailable, response.StatusCode, $"POST /{path} answered with an empty body.");
        }
    }

    private static async Task<string> ReadDetailAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var problem = JsonDocument.Parse(text);
            return problem.RootElement.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String
                ? detail.GetString()!
                : text;
        }
        catch (JsonException)
        {
            return text;
        }
    }

    private static ErrorKind KindOf(HttpStatusCode status) => status switch
    {
        HttpStatusCode.BadRequest => ErrorKind.Invalid,
        HttpStatusCode.NotFound => ErrorKind.NotFound,
        HttpStatusCode.Conflict => ErrorKind.Conflict,
        HttpStatusCode.RequestEntityTooLarge => ErrorKind.TooLarge,
        _ => ErrorKind.Unavailable,
    };
}

/// <summary>The gateway could not be reached or answered an allocation with an error.</summary>
public sealed class GatewayAllocationException(ErrorKind kind, HttpStatusCode? status, string message, Exception? inner = null)
    : Exception(message, inner), IMilvusError
{
    public ErrorKind Kind { get; } = kind;

    /// <summary>The gateway's status code, or null when it did not answer.</summary>
    public HttpStatusCode? StatusCode { get; } = status;
}
