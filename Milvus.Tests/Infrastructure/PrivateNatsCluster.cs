using System.Globalization;

namespace Milvus.Tests.Infrastructure;

/// <summary>
/// A JetStream cluster of a test's own: nats-server processes (from <c>MILVUS_TEST_NATS_BIN</c>, which scripts/test.sh
/// sets) on free loopback ports, routed to each other, each with its own store. A node keeps its ports and store across
/// a kill and restart.
/// </summary>
public sealed class PrivateNatsCluster : IAsyncDisposable
{
    private readonly PrivateServer[] _nodes;

    private PrivateNatsCluster(PrivateServer[] nodes)
    {
        _nodes = nodes;
    }

    /// <summary>The client URLs of every node, comma-separated, as NATS clients take them.</summary>
    public string Url => string.Join(',', _nodes.Select(n => $"nats://{n.Address}"));

    /// <summary>The node whose server name is <c>n{index}</c>.</summary>
    public PrivateServer Node(int index) => _nodes[index];

    /// <summary>The index of the node with that server name (<c>n0</c>, <c>n1</c>, …).</summary>
    public static int IndexOf(string serverName) => int.Parse(serverName.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>Starts <paramref name="size"/> nodes and waits until each listens (JetStream elects its leaders after).</summary>
    public static async Task<PrivateNatsCluster> StartAsync(int size = 3)
    {
        var binary = PrivateServer.Require("MILVUS_TEST_NATS_BIN");
        var routePorts = Enumerable.Range(0, size).Select(_ => LoopbackPorts.Unused()).ToArray();
        var nodes = new PrivateServer[size];
        for (var i = 0; i < size; i++)
        {
            var index = i;
            var routes = string.Join(',', routePorts.Where((_, j) => j != index).Select(p => $"nats://127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}"));
            nodes[i] = PrivateServer.NotStarted(binary, s =>
            [
                "-a", "127.0.0.1", "-p", s.Port.ToString(CultureInfo.InvariantCulture), "--server_name", $"n{index.ToString(CultureInfo.InvariantCulture)}",
                "-js", "-sd", s.DataDir, "--cluster_name", "milvus-test",
                "--cluster", $"nats://127.0.0.1:{routePorts[index].ToString(CultureInfo.InvariantCulture)}", "--routes", routes,
            ]);
        }
        var cluster = new PrivateNatsCluster(nodes);
        try
        {
            await Task.WhenAll(nodes.Select(n => n.StartAgainAsync()));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }
}
