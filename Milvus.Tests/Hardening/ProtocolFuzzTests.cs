using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Milvus.Tests.Api;

namespace Milvus.Tests.Hardening;

/// <summary>
/// Malformed HTTP itself, on a real Kestrel socket: bytes no HTTP client would send (NUL and invalid UTF-8 in the
/// request line, oversize lines and headers, broken framing). Kestrel refuses most of them before the gateway
/// sees them; every answer must be a 4xx and the gateway must keep serving.
/// </summary>
public sealed class ProtocolFuzzTests : IDisposable
{
    private readonly GatewayFactory _factory = new();

    public static TheoryData<string, byte[]> Requests => new()
    {
        { "NUL in the path", Request("GET /api/v1/channels/a\0b HTTP/1.1\r\nHost: x\r\n\r\n") },
        { "encoded NUL in the path", Request("GET /api/v1/channels/a%00b HTTP/1.1\r\nHost: x\r\n\r\n") },
        { "invalid UTF-8 in the path", [.. Encoding.ASCII.GetBytes("PUT /api/v1/channels/"), 0xFF, 0xFE, 0xC3, 0x28, .. Encoding.ASCII.GetBytes(" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")] },
        { "encoded invalid UTF-8 in the path", Request("PUT /api/v1/channels/ab%C3%28cd HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n") },
        { "a 20,000-byte request line", Request($"GET /api/v1/channels/{new string('a', 20_000)} HTTP/1.1\r\nHost: x\r\n\r\n") },
        { "a 40,000-byte header", Request($"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 40_000)}\r\n\r\n") },
        { "not HTTP", Request("BLAH\r\n\r\n") },
        { "no Host header", Request("GET /api/v1/components/states HTTP/1.1\r\n\r\n") },
        { "a negative Content-Length", Request("POST /api/v1/tso HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n") },
        { "Content-Length with chunked", Request("POST /api/v1/tso HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") },
        { "a broken chunk", Request("POST /api/v1/tso HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{\"count\":1}\r\n0\r\n\r\n") },
        { "a header without a colon", Request("GET /health/live HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n") },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task BrokenHttpOnAKestrelSocketGetsA4xxAndTheGatewayKeepsServing(string what, byte[] request)
    {
        _factory.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        _factory.StartServer();
        var address = new Uri(_factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        var statusLine = await SendRawAsync(address, request);

        Assert.True(statusLine.StartsWith("HTTP/1.1 4", StringComparison.Ordinal), $"{what}: the answer was '{statusLine}'");
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    public void Dispose() => _factory.Dispose();

    private static byte[] Request(string text) => Encoding.Latin1.GetBytes(text);

    private static async Task<string> SendRawAsync(Uri address, byte[] request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, timeout.Token);
        var stream = tcp.GetStream();
        try
        {
            await stream.WriteAsync(request, timeout.Token);
        }
        catch (IOException)
        {
            // Kestrel may answer and close before it has read an oversize request to its end.
        }
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        while (!answer.ToString().Contains("\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }
            answer.Append(Encoding.Latin1.GetString(buffer, 0, read));
        }
        var text = answer.ToString();
        return text.Contains("\r\n", StringComparison.Ordinal) ? text[..text.IndexOf("\r\n", StringComparison.Ordinal)] : $"(no status line: '{text}')";
    }
}
