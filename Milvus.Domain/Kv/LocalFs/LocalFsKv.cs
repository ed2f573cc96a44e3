using System.Text;

namespace Milvus.Domain.Kv.LocalFs;

/// <summary>
/// An <see cref="IBaseKv"/> over files under a directory: the object store of the embedded mode
/// (<c>Milvus:ObjectStorage:Backend=local</c>). A key's slash-separated segments become directories and a file,
/// each segment percent-encoded so that no key escapes the directory or names something a file system cannot
/// hold (see <see cref="KeyPath"/>). A save writes a temporary file, fsyncs it and renames it over the target,
/// so a crash leaves the old value or the new one, never a torn one. Thread-safe; like S3, only single-key
/// operations are atomic.
/// </summary>
public sealed class LocalFsKv : IBaseKv
{
    // A file holds a value; its name is the encoded last segment and this suffix, which encoding never produces,
    // so a key "a" (file "a~") and a key "a/b" (directory "a") live side by side.
    private const string FileSuffix = "~";
    // Temporary files start with a dot, which encoding never produces at the start of a name.
    private const string TempPrefix = ".tmp-";
    private const int MaxNameBytes = 255;
    private const int SaveAttempts = 32;

    private readonly string _directory;
    private readonly string _root;

    /// <summary>A store in <paramref name="directory"/> (created when missing) with its keys under <paramref name="rootPath"/>.</summary>
    public LocalFsKv(string directory, string rootPath = "")
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        _directory = Path.GetFullPath(directory);
        _root = KvPaths.NormalizeRoot(rootPath);
        Directory.CreateDirectory(_directory);
    }

    /// <summary>The directory that holds the files.</summary>
    public string DirectoryPath => _directory;

    public async Task<string> LoadAsync(string key, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        return await TryLoadAsync(FilePath(_root + key), cancellationToken).ConfigureAwait(false) ?? throw new KvKeyNotFoundException(key);
    }

    public async Task<IReadOnlyList<string>> MultiLoadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        KvGuard.Keys(keys);
        var values = new List<string>(keys.Count);
        var missing = new List<string>();
        foreach (var key in keys)
        {
            if (await TryLoadAsync(FilePath(_root + key), cancellationToken).ConfigureAwait(false) is { } value)
            {
                values.Add(value);
            }
            else
            {
                missing.Add(key);
            }
        }
        return missing.Count > 0 ? throw new KvKeyNotFoundException(missing) : values;
    }

    public async Task<KvPairs> LoadWithPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var keys = new List<string>();
        var values = new List<string>();
        foreach (var (key, path) in List(prefix))
        {
            // A file removed between the listing and the read is simply not part of the answer.
            if (await TryLoadAsync(path, cancellationToken).ConfigureAwait(false) is { } value)
            {
                keys.Add(key);
                values.Add(value);
            }
        }
        return new KvPairs(keys, values);
    }

    public async Task SaveAsync(string key, string value, CancellationToken cancellationToken = default)
    {
        KvGuard.Key(key);
        ArgumentNullException.ThrowIfNull(value);
        var path = FilePath(_root + key);
        var bytes = Encoding.UTF8.GetBytes(value);
        for (var attempt = 1; ; attempt++)
        {
            var directory = Path.GetDirectoryName(path)!;
            var temp = Path.Combine(directory, TempPrefix + Guid.NewGuid().ToString("N"));
            try
            {
                Directory.CreateDirectory(directory);
                await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
                {
                    await file.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                    file.Flush(flushToDisk: true);
                }
                File.Move(temp, path, overwrite: true);
                return;
            }
            catch (IOException) when (attempt < SaveAttempts)
            {
                // A concurrent removal pruned the directory while it was empty (the write then finds no
                // directory, or making the directory sees it exist and vanish before it can check it); again.
            }
            finally
            {
                // Gone after a successful rename; File.Exists, unlike File.Delete, does not throw when the
                // directory itself was pruned meanwhile.
                if (File.Exists(temp))
                {
                    File.Delete(temp);
                }
            }
        }
    }

    public async Task MultiSaveAsync(IReadOnlyDictionary<string, string> kvs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kvs);
        KvGuard.Keys(kvs.Keys, nameof(kvs));
        foreach (var (key, value) in kvs)
        {
            await SaveAsync(key, value, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task RemoveAsync(string key, CancellationToken cancellationToken = default) => MultiRemoveAsync([key], cancellationToken);

    public Task MultiRemoveAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        KvGuard.Keys(keys);
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Delete(FilePath(_root + key));
        }
        return Task.CompletedTask;
    }

    public Task RemoveWithPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        foreach (var (_, path) in List(prefix))
        {
            cancellationToken.ThrowIfCancellationRequested();
            Delete(path);
        }
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The file that holds <paramref name="fullKey"/> (root path included).</summary>
    private string FilePath(string fullKey)
    {
        var segments = fullKey.Split('/');
        var names = new string[segments.Length];
        for (var i = 0; i < segments.Length; i++)
        {
            names[i] = KeyPath.Encode(segments[i]) + (i == segments.Length - 1 ? FileSuffix : "");
            if (Encoding.UTF8.GetByteCount(names[i]) > MaxNameBytes)
            {
                throw new ArgumentException($"The key segment '{segments[i]}' is too long for a file name.", "key");
            }
        }
        return Path.Combine([_directory, .. names]);
    }

    /// <summary>Every stored key under <paramref name="prefix"/> (root path excluded) with its file, in ordinal order.</summary>
    private List<(string Key, string Path)> List(string prefix)
    {
        var segments = (_root + prefix).Split('/');
        var partial = segments[^1];
        var directory = Path.Combine([_directory, .. segments[..^1].Select(KeyPath.Encode)]);
        var parent = string.Concat(segments[..^1].Select(s => s + "/"));
        var found = new List<(string Key, string Path)>();
        foreach (var entry in Entries(directory))
        {
            if (entry is FileInfo && entry.Name.EndsWith(FileSuffix, StringComparison.Ordinal))
            {
                var segment = KeyPath.Decode(entry.Name[..^FileSuffix.Length]);
                if (segment.StartsWith(partial, StringComparison.Ordinal))
                {
                    found.Add((parent + segment, entry.FullName));
                }
            }
            else if (entry is DirectoryInfo && KeyPath.Decode(entry.Name) is var segment && segment.StartsWith(partial, StringComparison.Ordinal))
            {
                CollectAll(entry.FullName, parent + segment + "/", found);
            }
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return found.Select(f => (f.Key[_root.Length..], f.Path)).ToList();
    }

    private static void CollectAll(string directory, string parent, List<(string Key, string Path)> found)
    {
        foreach (var entry in Entries(directory))
        {
            if (entry is FileInfo && entry.Name.EndsWith(FileSuffix, StringComparison.Ordinal))
            {
                found.Add((parent + KeyPath.Decode(entry.Name[..^FileSuffix.Length]), entry.FullName));
            }
            else if (entry is DirectoryInfo)
            {
                CollectAll(entry.FullName, parent + KeyPath.Decode(entry.Name) + "/", found);
            }
        }
    }

    /// <summary>The encoded entries of a directory, without temporary files; none when it does not exist.</summary>
    private static IEnumerable<FileSystemInfo> Entries(string directory)
    {
        FileSystemInfo[] entries;
        try
        {
            entries = new DirectoryInfo(directory).GetFileSystemInfos();
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
        return entries.Where(e => !e.Name.StartsWith('.'));
    }

    /// <summary>Deletes a value's file and prunes the directories that this leaves empty.</summary>
    private void Delete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
            return;
        }
        for (var directory = Path.GetDirectoryName(path); directory is not null && directory.Length > _directory.Length; directory = Path.GetDirectoryName(directory))
        {
            try
            {
                Directory.Delete(directory);
            }
            catch (IOException)
            {
                // Not empty (or already gone): a directory in use stays.
                return;
            }
        }
    }

    private static async Task<string?> TryLoadAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return Encoding.UTF8.GetString(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }
}

/// <summary>
/// The file-name encoding of one key segment: ASCII letters, digits, <c>_</c> and <c>-</c> stay, as does
/// <c>.</c> except in first place (so no segment becomes <c>.</c>, <c>..</c> or a hidden file); every other UTF-8
/// byte becomes <c>%XX</c>; an empty segment becomes a lone <c>%</c>.
/// </summary>
internal static class KeyPath
{
    public static string Encode(string segment)
    {
        if (segment.Length == 0)
        {
            return "%";
        }
        var builder = new StringBuilder(segment.Length);
        var bytes = Encoding.UTF8.GetBytes(segment);
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            if (char.IsAsciiLetterOrDigit((char)b) || b == '_' || b == '-' || (b == '.' && i > 0))
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        return builder.ToString();
    }

    public static string Decode(string name)
    {
        if (name == "%")
        {
            return "";
        }
        var bytes = new List<byte>(name.Length);
        for (var i = 0; i < name.Length; i++)
        {
            if (name[i] == '%' && i + 2 < name.Length)
            {
                bytes.Add(Convert.ToByte(name.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                bytes.Add((byte)name[i]);
            }
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }
}
