using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Hardening;

/// <summary>The Hangfire dashboard in Debian's headless Chromium, on a gateway process with API keys: sign in once, then browse.</summary>
public sealed class DashboardLoginTests
{
    private const string Key = "dashboard-browser-key";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    // Enters the key into the login form the browser was sent to, and submits it after this script has answered.
    private const string SignIn = """
        (async () => {
          const end = Date.now() + 60000;
          let input;
          while (!(input = document.querySelector('form input[name=key]'))) {
            if (Date.now() > end) throw new Error('no login form at ' + location.pathname);
            await new Promise(resolve => setTimeout(resolve, 100));
          }
          const at = location.pathname;
          input.value = '__KEY__';
          setTimeout(() => input.form.submit(), 0);
          return at;
        })()
        """;

    // Waits a little in the page for the dashboard, and says where the browser is.
    private const string WhereAmI = """
        (async () => {
          const end = Date.now() + 2000;
          while (!(location.pathname === '/hangfire' && document.body?.innerText?.includes('Recurring'))) {
            if (Date.now() > end) break;
            await new Promise(resolve => setTimeout(resolve, 100));
          }
          return JSON.stringify({ path: location.pathname, recurring: document.body?.innerText?.includes('Recurring') ?? false, cookie: document.cookie });
        })()
        """;

    [Fact]
    public async Task ABrowserSignsInWithTheKeyOnceAndThenSeesTheDashboard()
    {
        using var dir = new TempDirectory();
        await using var gateway = new GatewayProcess(dir.Path, new Dictionary<string, string> { ["Milvus:Auth:ApiKeys:0"] = Key });
        await gateway.StartAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.GetAsync("hangfire")).StatusCode);
        await using var browser = await HeadlessChromium.OpenAsync(new Uri(gateway.BaseAddress, "hangfire"));

        var loginPath = await browser.EvaluateAsync(SignIn.Replace("__KEY__", Key, StringComparison.Ordinal), Patience);
        var clock = Stopwatch.StartNew();
        JsonElement where = default;
        while (clock.Elapsed < Patience)
        {
            try
            {
                // The page may be between documents while the form's answer loads: then ask the next one.
                where = JsonDocument.Parse(await browser.EvaluateAsync(WhereAmI, Patience)).RootElement.Clone();
            }
            catch (InvalidOperationException)
            {
                continue;
            }
            if (where.GetProperty("recurring").GetBoolean())
            {
                break;
            }
        }

        Assert.Equal("/hangfire/login", loginPath);
        Assert.Equal("/hangfire", where.GetProperty("path").GetString());
        Assert.True(where.GetProperty("recurring").GetBoolean(), "the dashboard did not show its recurring jobs");
        // HttpOnly: the page's scripts cannot read the sign-in cookie.
        Assert.DoesNotContain("milvus-dashboard", where.GetProperty("cookie").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Key, gateway.Output, StringComparison.Ordinal);
    }
}
