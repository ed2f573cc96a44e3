namespace Milvus.Domain.Tso;

/// <summary>The oracle or the id allocator is not initialized, or was reset; the HTTP layer answers 503.</summary>
public sealed class TsoNotReadyException(string what)
    : Exception($"The {what} is not ready: it has not loaded its saved state, or it was reset."), IMilvusError
{
    public ErrorKind Kind => ErrorKind.Unavailable;
}

/// <summary>
/// The logical part stayed exhausted through the bounded number of updates a request waits for; the HTTP layer
/// answers 503 and the caller may retry.
/// </summary>
public sealed class TsoExhaustedException(uint count, int waits)
    : Exception($"No room for {count} timestamps: the logical clock stayed exhausted through {waits} updates. The updater is stalled or cannot persist its window; retry later."), IMilvusError
{
    public ErrorKind Kind => ErrorKind.Busy;
}

/// <summary>A saved value under a TSO key cannot be read as a number; the start fails rather than guess.</summary>
public sealed class TsoCorruptStateException(string key, string value)
    : Exception($"The saved value under '{key}' is not a number: '{value}'. Refusing to start rather than risk issuing a value twice."), IMilvusError
{
    public ErrorKind Kind => ErrorKind.Unavailable;
}

/// <summary>
/// Another oracle saved a window under the same key since this one loaded it: this one is no longer the active TSO
/// and stops issuing until it loads again. The HTTP layer answers 503.
/// </summary>
public sealed class TsoFencedException(string key, long expected)
    : Exception($"Another TSO moved the saved value under '{key}' past {expected} since this one loaded it; this one stopped issuing until it loads again."), IMilvusError
{
    public ErrorKind Kind => ErrorKind.Unavailable;
}
