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

    /// <summary>
    /// Saves <paramref name="value"/> over <paramref name="expected"/>, the value this process loaded or saved last
    /// (0 when the key was absent). On a meta KV the write is a compare-and-swap, so a deposed oracle that another
    /// process has loaded past can never extend its window again: it gets a <see cref="TsoFencedException"/>.
    /// </summary>
    public static async Task SaveAsync(ITxnKv kv, string key, long expected, long value, CancellationToken cancellationToken)
    {
        var text = Format(value);
        if (kv is not IMetaKv meta)
        {
            await kv.SaveAsync(key, text, cancellationToken).ConfigureAwait(false);
            return;
        }
        var swapped = expected == 0
            ? await meta.CompareVersionAndSwapAsync(key, 0, text, cancellationToken: cancellationToken).ConfigureAwait(false)
            : await meta.CompareValueAndSwapAsync(key, Format(expected), text, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!swapped)
        {
            throw new TsoFencedException(key, expected);
        }
    }

    private static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}
