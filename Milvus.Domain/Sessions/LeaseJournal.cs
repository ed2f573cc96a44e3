using System.Globalization;
using Milvus.Domain.Kv;

namespace Milvus.Domain.Sessions;

/// <summary>
/// Remembers, in a file under the data directory, the leases that this process's sessions were granted, so that
/// a restart on the same directory revokes its predecessor's registrations at once (a kill -9 leaves them until
/// their TTL ends, and meanwhile an exclusive role would look held by a dead process).
/// </summary>
public sealed class LeaseJournal(string path)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _cleared;

    /// <summary>The journal file.</summary>
    public string Path { get; } = path ?? throw new ArgumentNullException(nameof(path));

    /// <summary>
    /// Once per process, before the first registration: revokes every lease the journal names (a lease that is
    /// gone counts as revoked), then empties it. A store that does not answer leaves the journal for the next try.
    /// </summary>
    /// <exception cref="KvUnavailableException">The meta KV does not answer.</exception>
    public async Task RevokePreviousAsync(IMetaKv kv, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_cleared)
            {
                return;
            }
            if (File.Exists(Path))
            {
                foreach (var line in await File.ReadAllLinesAsync(Path, cancellationToken).ConfigureAwait(false))
                {
                    if (long.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var lease) && lease > 0)
                    {
                        await kv.RevokeAsync(lease, cancellationToken).ConfigureAwait(false);
                    }
                }
                File.Delete(Path);
            }
            _cleared = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Adds a lease granted to this process.</summary>
    public async Task RecordAsync(long leaseId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
            await File.AppendAllTextAsync(Path, leaseId.ToString(CultureInfo.InvariantCulture) + "\n", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }
}
