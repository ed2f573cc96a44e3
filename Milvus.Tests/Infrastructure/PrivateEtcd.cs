using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Milvus.Tests.Infrastructure;

/// <summary>
/// An etcd of a test's own (from <c>MILVUS_TEST_ETCD_BIN</c>, which scripts/test.sh sets), for tests that stop and
/// restart the server. Data and ports stay the same across a restart.
/// </summary>
public sealed class PrivateEtcd : IAsyncDisposable
{
    private readonly string _binary;
    private readonly TempDirectory _dataDir = new();
    private readonly int _clientPort = FreePort();
    private readonly int _peerPort = FreePort();
    private Process? _process;

    private PrivateEtcd(string binary)
    {
        _binary = binary;
    }

    /// <summary>The client URL, e.g. <c>http://127.0.0.1:40123</c>.</summary>
    public string Endpoint => $"http://127.0.0.1:{_clientPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Starts a new etcd and waits until it answers.</summary>
    public static async Task<PrivateEtcd> StartAsync()
    {
        var binary = Environment.GetEnvironmentVariable("MILVUS_TEST_ETCD_BIN") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("MILVUS_TEST_ETCD_BIN is not set. Run the suite with ./scripts/test.sh.");
        var etcd = new PrivateEtcd(binary);
        await etcd.StartAgainAsync();
        return etcd;
    }

    /// <summary>Starts the server again after <see cref="StopAsync"/> and waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        var peer = $"http://127.0.0.1:{_peerPort.ToString(CultureInfo.InvariantCulture)}";
        var start = new ProcessStartInfo(_binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--name", "private", "--data-dir", _dataDir.Combine("etcd"),
            "--listen-client-urls", Endpoint, "--advertise-client-urls", Endpoint,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", $"private={peer}", "--log-level", "error",
        })
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

    /// <summary>Kills the server.</summary>
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

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _dataDir.Dispose();
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
                await client.ConnectAsync(IPAddress.Loopback, _clientPort, patience.Token);
                return;
            }
            catch (SocketException) when (!patience.IsCancellationRequested && _process is { HasExited: false })
            {
                await poll.WaitForNextTickAsync(patience.Token);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
