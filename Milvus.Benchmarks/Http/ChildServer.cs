using System.Diagnostics;
using System.Net;

namespace Milvus.Benchmarks.Http;

/// <summary>How to start a child server: a .NET dll, its arguments and environment; <c>{url}</c> is replaced by its address.</summary>
internal sealed record ChildCommand(string File, string[] Args, Dictionary<string, string> Env)
{
    /// <summary>
    /// The gateway on a data directory, logging warnings only: the build in <paramref name="dll"/>, by default the
    /// Release build of this repository.
    /// </summary>
    public static ChildCommand Gateway(string dataDir, string? dll = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        if (dll is not null)
        {
            return GatewayAt(dll, dataDir, settings);
        }
        var root = AppContext.BaseDirectory;
        while (!System.IO.File.Exists(Path.Combine(root, "Milvus.sln")))
        {
            root = Path.GetDirectoryName(root.TrimEnd(Path.DirectorySeparatorChar)) ?? throw new InvalidOperationException("Run from inside the repository.");
        }
        return GatewayAt(Path.Combine(root, "Milvus.Api", "bin", "Release", "net10.0", "Milvus.Api.dll"), dataDir, settings);
    }

    /// <summary>The gateway in <paramref name="dll"/>, with <paramref name="settings"/> (as <c>Milvus:Mq:Backend</c>) in its environment.</summary>
    private static ChildCommand GatewayAt(string dll, string dataDir, IReadOnlyDictionary<string, string>? settings)
    {
        if (!System.IO.File.Exists(dll))
        {
            throw new InvalidOperationException($"Build the gateway first: dotnet build Milvus.Api -c Release ({dll} is missing).");
        }
        var env = new Dictionary<string, string>
        {
            ["Milvus__DataDir"] = dataDir,
            ["ASPNETCORE_URLS"] = "{url}",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            env[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        return new(dll, [], env);
    }
}

/// <summary>A server child process on a free loopback port, stopped on dispose.</summary>
internal sealed class ChildServer : IDisposable
{
    private readonly Process _process;

    private ChildServer(Process process, string url)
    {
        _process = process;
        Url = url;
    }

    public string Url { get; }

    /// <summary>The child's process id, to read its memory from /proc.</summary>
    public int ProcessId => _process.Id;

    public static async Task<ChildServer> StartAsync(string name, ChildCommand command)
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
        probe.Stop();
        var process = StartProcess("dotnet", [command.File, .. command.Args.Select(a => a.Replace("{url}", url, StringComparison.Ordinal))],
            command.Env.ToDictionary(e => e.Key, e => e.Value.Replace("{url}", url, StringComparison.Ordinal)), name);
        var server = new ChildServer(process, url);
        using var http = new HttpClient();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        for (var attempt = 0; attempt < 600; attempt++)
        {
            try
            {
                using var live = await http.GetAsync(url + "/health/live");
                if (live.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            if (process.HasExited)
            {
                break;
            }
            await timer.WaitForNextTickAsync();
        }
        server.Dispose();
        throw new InvalidOperationException($"The {name} server did not come up at {url}.");
    }

    /// <summary>Starts <paramref name="program"/> with its output read and dropped, so that it never blocks on a full pipe.</summary>
    internal static Process StartProcess(string program, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, string name)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in env)
        {
            info.Environment[key] = value;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Cannot start the {name} server.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
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
}
