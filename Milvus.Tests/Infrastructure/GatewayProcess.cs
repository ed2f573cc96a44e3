using System.Diagnostics;
using System.Net;
using System.Text;

namespace Milvus.Tests.Infrastructure;

/// <summary>
/// The real gateway as a child process on a free loopback port, with its data under a given directory and its
/// settings passed as <c>Milvus__...</c> environment variables. <see cref="StartAsync(CancellationToken)"/> returns once the host
/// has started and <c>/health/ready</c> answers 200; <see cref="Kill"/> is kill -9 of the whole process tree;
/// <see cref="RestartAsync"/> starts it again on the same directory. The binary is the Milvus.Api build output
/// of the same configuration as the tests, or, when that is missing, one publish per test run.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly Lazy<Task<string>> Binary = new(FindOrPublishAsync);

    private readonly Dictionary<string, string> _settings;
    private readonly StringBuilder _output = new();
    private Process? _process;

    /// <param name="dataDir">The data directory (<c>Milvus:DataDir</c>); it outlives kills and restarts.</param>
    /// <param name="settings">Configuration keys (<c>Milvus:Kv:Backend</c>) and their values.</param>
    public GatewayProcess(string dataDir, IReadOnlyDictionary<string, string>? settings = null)
    {
        DataDir = dataDir;
        _settings = new Dictionary<string, string>(settings ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase)
        {
            ["Milvus:DataDir"] = dataDir,
        };
    }

    public string DataDir { get; }

    /// <summary>The gateway's address while it runs.</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    /// <summary>A client of the running gateway; replaced by each start.</summary>
    public HttpClient Client { get; private set; } = new();

    /// <summary>Whether the child process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Everything the gateway wrote to stdout and stderr, across starts.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the gateway and waits until it has started and reports ready.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default) => StartAsync(requireReady: true, cancellationToken);

    /// <summary>
    /// Starts the gateway and waits until the host has started; with <paramref name="requireReady"/> also until
    /// <c>/health/ready</c> answers 200 (without it, a gateway whose backends are down is fine).
    /// </summary>
    public async Task StartAsync(bool requireReady, CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The gateway is already running.");
        }
        var dll = await Binary.Value.ConfigureAwait(false);
        var port = LoopbackPorts.Unused();
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll },
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["ASPNETCORE_URLS"] = BaseAddress.ToString().TrimEnd('/');
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in _settings)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnLine(e.Data, started);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, started);
        process.Exited += (_, _) => started.TrySetException(new InvalidOperationException($"The gateway exited with code {process.ExitCode} before it started.\n{Output}"));
        Append($"--- start on port {port} ---");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        try
        {
            await started.Task.WaitAsync(StartTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Kill();
            throw new TimeoutException($"The gateway did not start within {StartTimeout.TotalSeconds} s.\n{Output}");
        }
        Client.Dispose();
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (!requireReady)
        {
            return;
        }
        using var ready = await Client.GetAsync("health/ready", cancellationToken).ConfigureAwait(false);
        if (ready.StatusCode != HttpStatusCode.OK)
        {
            var body = await ready.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new InvalidOperationException($"The gateway started but /health/ready answered {(int)ready.StatusCode}: {body}\n{Output}");
        }
    }

    /// <summary>kill -9: the gateway gets no chance to flush or shut down.</summary>
    public void Kill()
    {
        if (_process is not { } process)
        {
            return;
        }
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
        process.WaitForExit();
        process.Dispose();
        _process = null;
        Append("--- killed ---");
    }

    /// <summary>Kills the gateway if it runs, and starts it again on the same data directory.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        Kill();
        await StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        Client.Dispose();
        return ValueTask.CompletedTask;
    }

    private void OnLine(string? line, TaskCompletionSource started)
    {
        if (line is null)
        {
            return;
        }
        Append(line);
        // The host logs this once every hosted service, the components included, has started.
        if (line.Contains("Application started", StringComparison.Ordinal))
        {
            started.TrySetResult();
        }
    }

    private void Append(string line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>The Milvus.Api build output of the tests' configuration, or a fresh publish when it is missing.</summary>
    private static async Task<string> FindOrPublishAsync()
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testBin.Name;
        var configuration = testBin.Parent!.Name;
        var root = testBin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Milvus.sln")))
        {
            root = root.Parent;
        }
        if (root is null)
        {
            throw new InvalidOperationException($"No Milvus.sln above {AppContext.BaseDirectory}.");
        }
        var built = Path.Combine(root.FullName, "Milvus.Api", "bin", configuration, framework, "Milvus.Api.dll");
        if (File.Exists(built) && File.Exists(Path.ChangeExtension(built, ".runtimeconfig.json")))
        {
            return built;
        }

        var output = Directory.CreateTempSubdirectory("milvus-gateway-publish-").FullName;
        var publish = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "publish", Path.Combine(root.FullName, "Milvus.Api"), "-c", configuration, "-o", output },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(publish)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish failed ({process.ExitCode}):\n{await stdout.ConfigureAwait(false)}\n{await stderr.ConfigureAwait(false)}");
        }
        return Path.Combine(output, "Milvus.Api.dll");
    }
}
