using System.Diagnostics;
using System.Globalization;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Hardening;

/// <summary>
/// A small tmpfs mounted on a fresh directory, to play a data directory that fills up. Needs root (the test
/// machine runs as root); a failed mount fails the test that asked for it. Disposing unmounts it.
/// </summary>
public sealed class TmpfsMount : IDisposable
{
    private readonly TempDirectory _directory = new();
    private bool _mounted;

    private TmpfsMount()
    {
    }

    public string Path => _directory.Path;

    /// <summary>Mounts a tmpfs of the given size in MiB.</summary>
    public static TmpfsMount Create(int sizeMiB)
    {
        var mount = new TmpfsMount();
        try
        {
            Run("mount", "-t", "tmpfs", "-o", Size(sizeMiB), "tmpfs", mount.Path);
            mount._mounted = true;
            return mount;
        }
        catch
        {
            mount.Dispose();
            throw;
        }
    }

    /// <summary>Grows (or shrinks) the mounted filesystem in place; its files stay.</summary>
    public void Resize(int sizeMiB) => Run("mount", "-o", "remount," + Size(sizeMiB), Path);

    public void Dispose()
    {
        if (_mounted)
        {
            // Lazy, so that a file a dying child process still holds cannot keep the mount alive.
            Run("umount", "-l", Path);
            _mounted = false;
        }
        _directory.Dispose();
    }

    private static string Size(int sizeMiB) => string.Create(CultureInfo.InvariantCulture, $"size={sizeMiB}m");

    private static void Run(string command, params string[] arguments)
    {
        var info = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{command} did not start.");
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr} (the disk-full tests mount a tmpfs and need root)");
        }
    }
}
