using System.Net.Sockets;
using System.Text;

namespace Milvus.Tests.Infrastructure;

/// <summary>The servers that scripts/test.sh starts are up and answer their own protocols.</summary>
public sealed class TestServersTests
{
    [Fact]
    public async Task EtcdAnswersItsHealthEndpoint()
    {
        using var http = new HttpClient();
        var endpoint = TestServers.EtcdEndpoints.Split(',')[0];
        var body = await http.GetStringAsync($"{endpoint}/health");
        Assert.Contains("\"health\":\"true\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RedisAnswersPing()
    {
        var (host, port) = Split(TestServers.Redis);
        using var client = new TcpClient();
        await client.ConnectAsync(host, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("PING\r\n"));
        var buffer = new byte[16];
        var read = await stream.ReadAsync(buffer);
        Assert.Equal("+PONG", Encoding.ASCII.GetString(buffer, 0, read).TrimEnd());
    }

    [Fact]
    public async Task NatsGreetsWithJetStreamAndTheLargerMaxPayload()
    {
        var uri = new Uri(TestServers.Nats);
        using var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port);
        using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        var info = await reader.ReadLineAsync();
        Assert.NotNull(info);
        Assert.StartsWith("INFO ", info, StringComparison.Ordinal);
        Assert.Contains("\"jetstream\":true", info, StringComparison.Ordinal);
        Assert.Contains("\"max_payload\":8388608", info, StringComparison.Ordinal);
        Assert.True(File.Exists(PrivateServer.Require("MILVUS_TEST_NATS_BIN")));
    }

    [Fact]
    public async Task S3rverListsTheTestBucket()
    {
        using var http = new HttpClient();
        var body = await http.GetStringAsync($"http://{TestServers.S3Endpoint}/");
        Assert.Contains($"<Name>{TestServers.S3Bucket}</Name>", body, StringComparison.Ordinal);
        // The patched namespace: the Minio SDK reads listings in any other namespace as empty.
        Assert.Contains("xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"", body, StringComparison.Ordinal);
    }

    private static (string Host, int Port) Split(string hostPort)
    {
        var colon = hostPort.LastIndexOf(':');
        return (hostPort[..colon], int.Parse(hostPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
