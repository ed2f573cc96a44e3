using System.Globalization;
using System.Net;
using System.Text.Json;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Hardening;

/// <summary>Swagger UI in Debian's headless Chromium, against a real gateway process with an API key.</summary>
public sealed class SwaggerUiTests
{
    private const string Key = "swagger-ui-test-key";

    // Runs in the page: enter the key through "Authorize", then "Try it out" and "Execute", with the examples as
    // they are, on each of __OPERATIONS__ in turn, and report what the UI shows. Each step waits (in the browser) for its
    // element; all steps together get up to __WAIT_MS__ ms, a bound generous enough for a loaded machine, since
    // Swagger UI renders in steps that each take seconds there. Only a failing test waits that long.
    private const string Script = """
        (async () => {
          const end = Date.now() + __WAIT_MS__;
          const wait = async (find, what) => {
            for (;;) {
              const found = find();
              if (found) return found;
              if (Date.now() > end) throw new Error('timed out waiting for ' + what);
              await new Promise(resolve => setTimeout(resolve, 100));
            }
          };
          const type = (input, value) => {
            Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, value);
            input.dispatchEvent(new Event('input', { bubbles: true }));
            input.dispatchEvent(new Event('change', { bubbles: true }));
          };
          (await wait(() => document.querySelector('.swagger-ui .auth-wrapper .authorize'), 'the Authorize button')).click();
          const input = await wait(() => document.querySelector('.modal-ux .auth-container input'), 'the key field');
          const scheme = document.querySelector('.modal-ux .auth-container')?.textContent ?? '';
          type(input, '__KEY__');
          (await wait(() => document.querySelector('.modal-ux .auth-btn-wrapper .modal-btn.auth:not(.btn-done)'), 'Authorize in the dialog')).click();
          (await wait(() => document.querySelector('.modal-ux .auth-btn-wrapper .btn-done'), 'Close')).click();
          const run = async (method, path) => {
            const block = await wait(() => [...document.querySelectorAll('.opblock.opblock-' + method)]
              .find(b => b.querySelector('.opblock-summary-path')?.getAttribute('data-path') === path), 'the operation ' + path);
            (block.querySelector('.opblock-summary-control') ?? block.querySelector('.opblock-summary')).click();
            (await wait(() => block.querySelector('.try-out__btn'), 'Try it out on ' + path)).click();
            (await wait(() => block.querySelector('.btn.execute'), 'Execute on ' + path)).click();
            const status = await wait(() => block.querySelector('.live-responses-table tbody tr.response .response-col_status')?.textContent?.trim(), 'the response of ' + path);
            const body = block.querySelector('.live-responses-table tbody tr.response .response-col_description')?.textContent ?? '';
            return { status, body };
          };
          const results = {};
          for (const [method, path] of __OPERATIONS__) {
            results[path] = await run(method, path);
          }
          return JSON.stringify({ scheme, results });
        })()
        """;

    /// <summary>Bounds the whole script; the page's own bound is a little shorter, so that it can name the step it waited for.</summary>
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(180);

    /// <summary>What the test runs, in order: the channel example makes demo, which the produce example writes into.</summary>
    private const string Operations = """
        [["get", "/api/v1/components/states"], ["put", "/api/v1/channels/{channel}"], ["post", "/api/v1/tso"], ["post", "/api/v1/msgstream/produce"]]
        """;

    [Fact]
    public async Task SwaggerUiTakesTheApiKeyAndRunsTheStatesChannelTsoAndProduceExamplesUnedited()
    {
        using var dir = new TempDirectory();
        await using var gateway = new GatewayProcess(dir.Path, new Dictionary<string, string> { ["Milvus:Auth:ApiKeys:0"] = Key });
        await gateway.StartAsync();
        // The API needs the key; the UI and its document do not, or nobody could enter it.
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.GetAsync("api/v1/components/states")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("swagger/v1/swagger.json")).StatusCode);
        await using var browser = await HeadlessChromium.OpenAsync(new Uri(gateway.BaseAddress, "swagger/index.html"));

        var script = Script
            .Replace("__KEY__", Key, StringComparison.Ordinal)
            .Replace("__OPERATIONS__", Operations, StringComparison.Ordinal)
            .Replace("__WAIT_MS__", ((int)(ScriptTimeout - TimeSpan.FromSeconds(10)).TotalMilliseconds).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var shown = await browser.EvaluateAsync(script, ScriptTimeout);

        using var result = JsonDocument.Parse(shown);
        var root = result.RootElement;
        Assert.Contains("X-Api-Key", root.GetProperty("scheme").GetString(), StringComparison.Ordinal);
        var results = root.GetProperty("results");
        string Status(string path) => results.GetProperty(path).GetProperty("status").GetString()!;
        string Body(string path) => results.GetProperty(path).GetProperty("body").GetString()!;
        Assert.Equal("200", Status("/api/v1/components/states"));
        Assert.Contains("subcomponentStates", Body("/api/v1/components/states"), StringComparison.Ordinal);
        Assert.Contains("\"stateCode\"", Body("/api/v1/components/states"), StringComparison.Ordinal);
        Assert.Equal("201", Status("/api/v1/channels/{channel}"));
        Assert.Equal("200", Status("/api/v1/tso"));
        Assert.Contains("\"physicalMs\"", Body("/api/v1/tso"), StringComparison.Ordinal);
        Assert.Equal("200", Status("/api/v1/msgstream/produce"));
        Assert.Contains("\"positions\"", Body("/api/v1/msgstream/produce"), StringComparison.Ordinal);
    }
}
