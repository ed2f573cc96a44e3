using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Milvus.Benchmarks.Http;

namespace Milvus.Benchmarks.SideBySide;

/// <summary>A server program (nats-server, redis-server) as a child process on a free loopback port, killed on dispose.</summary>
internal sealed class ExternalServer : IDisposable
{
    private readonly Process _process;

    private ExternalServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public int ProcessId => _process.Id;

    /// <summary>Starts <paramref name="program"/> with <paramref name="args"/> (<c>{port}</c> is the free port) and waits until the port accepts.</summary>
    public static async Task<ExternalServer> StartAsync(string program, IEnumerable<string> args)
    {
        var port = FreePort();
        Process process;
        try
        {
            process = ChildServer.StartProcess(program, args.Select(a => a.Replace("{port}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)),
                new Dictionary<string, string>(), program);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"{program} is not installed; scripts/side-by-side.sh installs it from Debian's packages.", ex);
        }
        var server = new ExternalServer(process, port);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        for (var attempt = 0; attempt < 200 && !process.HasExited; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return server;
            }
            catch (SocketException)
            {
                await timer.WaitForNextTickAsync();
            }
        }
        server.Dispose();
        throw new InvalidOperationException($"{program} did not come up on port {port}.");
    }

    /// <summary>User plus system CPU time of the process so far, from /proc/&lt;pid&gt;/stat.</summary>
    public static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the command name, in clock ticks (100 a second).
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
