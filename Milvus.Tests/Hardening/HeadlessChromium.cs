using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Hardening;

/// <summary>
/// Debian's <c>chromium</c>, headless, opened on one page and driven over the DevTools protocol with a plain
/// <see cref="ClientWebSocket"/>. It starts on a blank page and navigates once connected, so that the page's load
/// is an event it sees, and a script never runs in a document that a navigation then replaces. <c>scripts/test.sh</c> installs it; <c>MILVUS_TEST_CHROMIUM</c> names another
/// binary. A missing browser fails the test that needs it.
/// </summary>
public sealed partial class HeadlessChromium : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Bounds the page's load; generous, as a loaded machine is slow and it only bounds a failing test.</summary>
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(120);

    private readonly Process _process;
    private readonly TempDirectory _profile;
    private readonly ClientWebSocket _socket = new();
    private Task _drainError = Task.CompletedTask;
    private Task _drainOutput = Task.CompletedTask;
    private readonly HashSet<string> _events = [];
    private int _nextId;

    private HeadlessChromium(Process process, TempDirectory profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Starts the browser, connects to its page and loads <paramref name="url"/> in it.</summary>
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
            // Chromium may lower the CPU priority (nice) of a renderer it deems in the background and throttle its
            // timers; on a loaded machine the page would then render many times slower. Automation wants neither.
            "--disable-renderer-backgrounding", "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--user-data-dir={profile.Path}",
            "about:blank",
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
            await browser.NavigateAsync(url, cancellationToken).ConfigureAwait(false);
            return browser;
        }
        catch
        {
            await browser.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Evaluates an async JavaScript expression in the page and returns its (string) value.</summary>
    public async Task<string> EvaluateAsync(string expression, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
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
            throw new InvalidOperationException($"DevTools error: {error.ToJsonString()}");
        }
        return result?["result"]?["value"]?.ToString() ?? "";
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

        // The browser reports every target, the page among them, as soon as discovery is on: no polling.
        string? pageId = null;
        using (var browser = new ClientWebSocket())
        {
            await browser.ConnectAsync(browserSocket, timeout.Token).ConfigureAwait(false);
            await SendCommandAsync(browser, 1, "Target.setDiscoverTargets", new JsonObject { ["discover"] = true }, timeout.Token).ConfigureAwait(false);
            while (pageId is null)
            {
                var message = await ReceiveAsync(browser, timeout.Token).ConfigureAwait(false);
                if (message["params"]?["targetInfo"] is JsonObject target && target["type"]?.GetValue<string>() == "page")
                {
                    pageId = target["targetId"]?.GetValue<string>();
                }
            }
        }
        var pageSocket = new Uri($"ws://{browserSocket.Authority}/devtools/page/{pageId}");
        await _socket.ConnectAsync(pageSocket, timeout.Token).ConfigureAwait(false);
    }

    /// <summary>Loads <paramref name="url"/> in the page and waits for its load event.</summary>
    private async Task NavigateAsync(Uri url, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(LoadTimeout);
        // Page events are sent only once enabled, so enabling before navigating cannot miss the load.
        await SendAsync("Page.enable", [], timeout.Token).ConfigureAwait(false);
        var reply = await SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() }, timeout.Token).ConfigureAwait(false);
        if ((reply["error"] ?? reply["result"]?["errorText"]) is { } error)
        {
            throw new InvalidOperationException($"Chromium could not load {url}: {error.ToJsonString()}");
        }
        while (!_events.Contains("Page.loadEventFired"))
        {
            Note(await ReceiveAsync(_socket, timeout.Token).ConfigureAwait(false));
        }
    }

    private async Task<JsonObject> SendAsync(string method, JsonObject parameters, CancellationToken cancellationToken)
    {
        var id = ++_nextId;
        await SendCommandAsync(_socket, id, method, parameters, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            // Events (no id) are noted and stale replies skipped; the reply to this command carries its id.
            var reply = await ReceiveAsync(_socket, cancellationToken).ConfigureAwait(false);
            if (reply["id"]?.GetValue<int>() == id)
            {
                return reply;
            }
            Note(reply);
        }
    }

    private static async Task SendCommandAsync(ClientWebSocket socket, int id, string method, JsonObject parameters, CancellationToken cancellationToken)
    {
        var command = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
        await socket.SendAsync(Encoding.UTF8.GetBytes(command.ToJsonString()), WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Remembers which events the page has sent.</summary>
    private void Note(JsonObject message)
    {
        if (message["method"]?.GetValue<string>() is { } method)
        {
            _events.Add(method);
        }
    }

    /// <summary>The next DevTools message (a reply or an event) on <paramref name="socket"/>.</summary>
    private static async Task<JsonObject> ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await socket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    throw new InvalidOperationException("Chromium closed the DevTools connection.");
                }
                message.Write(buffer, 0, received.Count);
            }
            while (!received.EndOfMessage);
            if (JsonNode.Parse(message.ToArray()) is JsonObject parsed)
            {
                return parsed;
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
