using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Hardening;

/// <summary>
/// Debian's <c>chromium</c>, headless, opened on one page and driven over the DevTools protocol with a plain
/// <see cref="ClientWebSocket"/>. <c>scripts/test.sh</c> installs it; <c>MILVUS_TEST_CHROMIUM</c> names another
/// binary. A missing browser fails the test that needs it.
/// </summary>
public sealed partial class HeadlessChromium : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly TempDirectory _profile;
    private readonly ClientWebSocket _socket = new();
    private Task _drainError = Task.CompletedTask;
    private Task _drainOutput = Task.CompletedTask;
    private int _nextId;

    private HeadlessChromium(Process process, TempDirectory profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Starts the browser on <paramref name="url"/> and connects to that page.</summary>
    public static async Task<HeadlessChromium> OpenAsync(Uri url, CancellationToken cancellationToken = default)
    {
        var binary = Environment.GetEnvironmentVariable("MILVUS_TEST_CHROMIUM") is { Length: > 0 } configured ? configured : "chromium";
        var profile = new TempDirectory();
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--user-data-dir={profile.Path}",
            url.ToString(),
        })
        {
            info.ArgumentList.Add(argument);
        }
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"{binary} did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            profile.Dispose();
            throw new InvalidOperationException($"Chromium ('{binary}') is not installed; ./scripts/test.sh installs Debian's chromium.", ex);
        }
        var browser = new HeadlessChromium(process, profile);
        try
        {
            await browser.ConnectAsync(cancellationToken).ConfigureAwait(false);
            return browser;
        }
        catch
        {
            await browser.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Evaluates an async JavaScript expression in the page and returns its (string) value. An evaluation that
    /// the page's first navigation interrupts is tried again until <paramref name="timeout"/>.
    /// </summary>
    public async Task<string> EvaluateAsync(string expression, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            var reply = await SendAsync("Runtime.evaluate", new JsonObject
            {
                ["expression"] = expression,
                ["awaitPromise"] = true,
                ["returnByValue"] = true,
            }, deadline.Token).ConfigureAwait(false);
            var result = reply["result"];
            if (result?["exceptionDetails"] is { } exception)
            {
                throw new InvalidOperationException($"The page threw: {exception.ToJsonString()}");
            }
            if (reply["error"] is { } error)
            {
                // The initial blank document is replaced while the script runs: run it again in the new one.
                if (error["message"]?.GetValue<string>() is { } message && message.Contains("context", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
                throw new InvalidOperationException($"DevTools error: {error.ToJsonString()}");
            }
            return result?["result"]?["value"]?.ToString() ?? "";
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync().ConfigureAwait(false);
        await Task.WhenAll(_drainError, _drainOutput).ConfigureAwait(false);
        _process.Dispose();
        _profile.Dispose();
    }

    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        // Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" once it listens.
        Uri? browserSocket = null;
        while (browserSocket is null)
        {
            var line = await _process.StandardError.ReadLineAsync(timeout.Token).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Chromium exited ({(_process.HasExited ? _process.ExitCode : -1)}) before it listened.");
            if (DevToolsLine().Match(line) is { Success: true } match)
            {
                browserSocket = new Uri(match.Groups[1].Value);
            }
        }
        _drainError = DrainAsync(_process.StandardError);
        _drainOutput = DrainAsync(_process.StandardOutput);

        using var http = new HttpClient { BaseAddress = new Uri($"http://{browserSocket.Authority}/") };
        Uri? pageSocket = null;
        while (pageSocket is null)
        {
            var targets = await http.GetFromJsonAsync<JsonArray>("json/list", timeout.Token).ConfigureAwait(false);
            var page = targets?.FirstOrDefault(t => t?["type"]?.GetValue<string>() == "page");
            if (page?["webSocketDebuggerUrl"]?.GetValue<string>() is { } address)
            {
                pageSocket = new Uri(address);
            }
            else
            {
                // The page target appears a moment after the browser listens: wait for the browser's next answer.
                await Task.Yield();
            }
        }
        await _socket.ConnectAsync(pageSocket, timeout.Token).ConfigureAwait(false);
    }

    private async Task<JsonObject> SendAsync(string method, JsonObject parameters, CancellationToken cancellationToken)
    {
        var id = ++_nextId;
        var command = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(command.ToJsonString()), WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await _socket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    throw new InvalidOperationException("Chromium closed the DevTools connection.");
                }
                message.Write(buffer, 0, received.Count);
            }
            while (!received.EndOfMessage);
            // Events (no id) and stale replies are skipped; the reply to this command carries its id.
            if (JsonNode.Parse(message.ToArray()) is JsonObject reply && reply["id"]?.GetValue<int>() == id)
            {
                return reply;
            }
        }
    }

    /// <summary>Reads the browser's log to its end, so that a full pipe never blocks it.</summary>
    private static async Task DrainAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is not null)
        {
        }
    }

    [GeneratedRegex("DevTools listening on (ws://\\S+)")]
    private static partial Regex DevToolsLine();
}
