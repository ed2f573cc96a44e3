using System.Diagnostics;

namespace Milvus.Tests.Infrastructure;

/// <summary>
/// A small ext4 file system of its own, on a loop device (the suite runs as root), that a test can freeze with
/// <c>fsfreeze</c>: from then on every write to it blocks in the kernel, as on a disk that has stopped answering,
/// until <see cref="ThawAsync"/>. Disposing thaws it, unmounts it and deletes its image.
/// </summary>
public sealed class FrozenDisk : IAsyncDisposable
{
    private readonly TempDirectory _dir = new();
    private bool _mounted;
    private int _frozen;
    private CancellationTokenSource? _guard;

    private FrozenDisk()
    {
        Path = System.IO.Path.Combine(_dir.Path, "mnt");
        Image = System.IO.Path.Combine(_dir.Path, "disk.img");
    }

    /// <summary>Where the file system is mounted.</summary>
    public string Path { get; }

    private string Image { get; }

    /// <summary>Makes and mounts a file system of <paramref name="megabytes"/> MiB.</summary>
    public static async Task<FrozenDisk> MountAsync(int megabytes = 256)
    {
        var disk = new FrozenDisk();
        try
        {
            Directory.CreateDirectory(disk.Path);
            await using (var image = File.Create(disk.Image))
            {
                image.SetLength(megabytes * 1024L * 1024L);
            }
            await RunAsync("mkfs.ext4", "-q", "-F", disk.Image);
            await RunAsync("mount", "-o", "loop", disk.Image, disk.Path);
            disk._mounted = true;
            return disk;
        }
        catch
        {
            await disk.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Freezes the file system: writes to it block until <see cref="ThawAsync"/>, or at the latest after
    /// <see cref="MaxFrozen"/>, so that a test that never gets to thaw it does not hang the suite.
    /// </summary>
    public async Task FreezeAsync()
    {
        await RunAsync("fsfreeze", "--freeze", Path);
        _frozen = 1;
        _guard = new CancellationTokenSource();
        var token = _guard.Token;
        _ = Task.Run(async () =>
        {
            await Task.Delay(MaxFrozen, token);
            await ThawAsync();
        }, token);
    }

    /// <summary>The longest a freeze lasts.</summary>
    public static readonly TimeSpan MaxFrozen = TimeSpan.FromSeconds(60);

    /// <summary>Lets the blocked writes go on (once, whoever calls it first).</summary>
    public async Task ThawAsync()
    {
        if (Interlocked.Exchange(ref _frozen, 0) == 1)
        {
            _guard?.Cancel();
            await RunAsync("fsfreeze", "--unfreeze", Path);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ThawAsync();
        if (_mounted)
        {
            // Lazily: a process that still has a file open there (a gateway being disposed) does not keep it mounted.
            await RunAsync("umount", "--lazy", Path);
            _mounted = false;
        }
        _guard?.Dispose();
        _dir.Dispose();
    }

    private static async Task RunAsync(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not run {command}.");
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}");
        }
    }
}
