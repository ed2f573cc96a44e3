namespace Milvus.Domain;

/// <summary>What kind of failure an error is; the HTTP layer maps each kind to one status code.</summary>
public enum ErrorKind
{
    /// <summary>The input is not valid (400).</summary>
    Invalid,

    /// <summary>Something named in the request does not exist (404).</summary>
    NotFound,

    /// <summary>Something already exists, or a compare-and-swap lost (409).</summary>
    Conflict,

    /// <summary>An idempotency key was used before for a different request (422); nothing was done.</summary>
    KeyReused,

    /// <summary>The input is larger than a configured limit (413).</summary>
    TooLarge,

    /// <summary>A backend cannot be reached or has no room (503).</summary>
    Unavailable,

    /// <summary>The operation cannot complete now but may later, e.g. an exhausted logical clock (503).</summary>
    Busy,

    /// <summary>The caller holds as much of something as one caller may (429).</summary>
    TooMany,

    /// <summary>The storage under the data directory is full; nothing was written (507).</summary>
    InsufficientStorage,
}

/// <summary>A domain error with a kind that says how a caller should treat it.</summary>
public interface IMilvusError
{
    /// <summary>The kind of failure.</summary>
    ErrorKind Kind { get; }
}
