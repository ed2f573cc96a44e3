using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
namespace Milvus.Tests.Infrastructure;

/// <summary>
/// A server of a test's own (etcd, Redis, s3rver), from the binaries that scripts/test.sh names
/// (<c>MILVUS_TEST_ETCD_BIN</c>, <c>MILVUS_TEST_REDIS_BIN</c>, <c>MILVUS_TEST_S3RVER_JS</c>), for tests that kill and
/// restart a backend. Port and data survive a restart.
/// Redis writes an fsynced append-only file, so what it acknowledged survives kill -9.
/// </summary>
public sealed class PrivateServer : IAsyncDisposable
{
    private readonly string _binary;
    private readonly Func<PrivateServer, string[]> _arguments;
    private readonly TempDirectory _dataDir = new();
    private Process? _process;

    private PrivateServer(string binary, Func<PrivateServer, string[]> arguments)
    {
        _binary = binary;
        _arguments = arguments;
    }

    /// <summary>The loopback port the server listens on.</summary>
    public int Port { get; } = LoopbackPorts.Unused();

    /// <summary><c>127.0.0.1:PORT</c>.</summary>
    public string Address => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The server's data directory.</summary>
    public string DataDir => _dataDir.Path;

    /// <summary>A private Redis with an fsync-always append-only file.</summary>
    public static Task<PrivateServer> StartRedisAsync() =>
        StartAsync(Require("MILVUS_TEST_REDIS_BIN"), s =>
        [
            "--bind", "127.0.0.1", "--port", s.Port.ToString(CultureInfo.InvariantCulture), "--dir", s.DataDir,
            "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "yes",
        ]);

    /// <summary>A private s3rver with the bucket <paramref name="bucket"/>.</summary>
    public static Task<PrivateServer> StartS3rverAsync(string bucket) =>
        StartAsync("node", s =>
        [
            Require("MILVUS_TEST_S3RVER_JS"), "-d", s.DataDir, "-a", "127.0.0.1", "-p", s.Port.ToString(CultureInfo.InvariantCulture),
            "--silent", "--configure-bucket", bucket,
        ]);

    /// <summary>Starts the server again after <see cref="StopAsync"/>, on the same port and data.</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo(_binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in _arguments(this))
        {
            start.ArgumentList.Add(argument);
        }
        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {_binary}.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitUntilListeningAsync();
    }

    /// <summary>kill -9 of the server.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    /// <summary>
    /// kill -STOP: the server stops answering but keeps its connections, as a frozen host or a long pause does;
    /// <see cref="ThawAsync"/> lets it go on with what its clients sent meanwhile.
    /// </summary>
    public Task FreezeAsync() => SignalAsync("STOP");

    /// <summary>kill -CONT after <see cref="FreezeAsync"/>.</summary>
    public Task ThawAsync() => SignalAsync("CONT");

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _dataDir.Dispose();
    }

    private async Task SignalAsync(string signal)
    {
        var process = _process ?? throw new InvalidOperationException("The server is not running.");
        using var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(CultureInfo.InvariantCulture)])
            ?? throw new InvalidOperationException("Could not run kill.");
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>A server whose port and directory are chosen but which is not running yet; <see cref="StartAgainAsync"/> starts it.</summary>
    public static PrivateServer NotStarted(string binary, Func<PrivateServer, string[]> arguments) => new(binary, arguments);

    /// <summary>Starts <paramref name="binary"/> with the arguments made for the server's port and directory.</summary>
    public static async Task<PrivateServer> StartAsync(string binary, Func<PrivateServer, string[]> arguments)
    {
        var server = new PrivateServer(binary, arguments);
        try
        {
            await server.StartAgainAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task WaitUntilListeningAsync()
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (true)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, Port, patience.Token);
                return;
            }
            catch (SocketException) when (!patience.IsCancellationRequested && _process is { HasExited: false })
            {
                await poll.WaitForNextTickAsync(patience.Token);
            }
        }
    }

    /// <summary>The value of a variable that scripts/test.sh sets.</summary>
    public static string Require(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{variable} is not set. Run the suite with ./scripts/test.sh.");

}
