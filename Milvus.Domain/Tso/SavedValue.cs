using System.Globalization;
using Milvus.Domain.Kv;

namespace Milvus.Domain.Tso;

/// <summary>Reads and writes one persisted number (a saved time or a high-water mark) in the meta KV.</summary>
internal static class SavedValue
{
    /// <summary>The saved number, or 0 when none was ever saved. Any other failure propagates.</summary>
    public static async Task<long> LoadAsync(ITxnKv kv, string key, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await kv.LoadAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (KvKeyNotFoundException)
        {
            return 0;
        }
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new TsoCorruptStateException(key, text);
    }

    /// <summary>The constructor checks shared by the oracle and the id allocator.</summary>
    public static void CheckArguments(ITxnKv kv, TimeProvider time, TsoOptions options, string key)
    {
        ArgumentNullException.ThrowIfNull(kv);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(options);
        KvGuard.Key(key);
        if (options.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }
    }

    public static Task SaveAsync(ITxnKv kv, string key, long value, CancellationToken cancellationToken) =>
        kv.SaveAsync(key, value.ToString(CultureInfo.InvariantCulture), cancellationToken);
}
