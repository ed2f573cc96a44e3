namespace Milvus.Workers.Tso.Http;

/// <summary>The body of <c>POST /api/v1/tso</c>: how many timestamps, 1 to 262144.</summary>
public sealed record TimestampRequest(long Count);

/// <summary>
/// The answer of <c>POST /api/v1/tso</c>: the batch <c>[Timestamp, Timestamp + Count)</c>, with the first
/// timestamp's physical (Unix ms) and logical parts.
/// </summary>
public sealed record TimestampResponse(ulong Timestamp, long Count, long PhysicalMs, long Logical);

/// <summary>The body of <c>POST /api/v1/ids</c>: how many ids, 1 to 1000000.</summary>
public sealed record IdRequest(long Count);

/// <summary>The answer of <c>POST /api/v1/ids</c>: the half-open range <c>[Begin, End)</c>.</summary>
public sealed record IdResponse(long Begin, long End);
