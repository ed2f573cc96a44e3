using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Milvus.Domain.Kv;

namespace Milvus.Domain.Sessions;

/// <summary>
/// Makes the sessions of one process: same meta KV, TTL, clock, the address its services answer on, and the
/// journal of its leases.
/// </summary>
public sealed class SessionFactory(IMetaKv kv, int ttlSeconds, string address, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null,
    LeaseJournal? journal = null)
{
    /// <summary>The address this process registers, e.g. <c>http://10.0.0.5:19530</c>.</summary>
    public string Address { get; } = address ?? throw new ArgumentNullException(nameof(address));

    /// <summary>The lease TTL of every session, in seconds.</summary>
    public int TtlSeconds { get; } = ttlSeconds;

    /// <summary>A new session, not registered yet.</summary>
    public Session Create() => Session.NewSession(kv, TtlSeconds, timeProvider, loggerFactory ?? NullLoggerFactory.Instance, journal);
}
