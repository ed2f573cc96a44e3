using System.Globalization;

namespace Milvus.Tests.Infrastructure;

/// <summary>
/// An etcd of a test's own (from <c>MILVUS_TEST_ETCD_BIN</c>, which scripts/test.sh sets), for tests that stop and
/// restart the server. Data and ports stay the same across a restart.
/// </summary>
public sealed class PrivateEtcd : IAsyncDisposable
{
    private readonly PrivateServer _server;

    private PrivateEtcd(PrivateServer server)
    {
        _server = server;
    }

    /// <summary>The client URL, e.g. <c>http://127.0.0.1:40123</c>.</summary>
    public string Endpoint => $"http://{_server.Address}";

    /// <summary>Starts a new etcd and waits until it answers.</summary>
    public static async Task<PrivateEtcd> StartAsync()
    {
        var server = await PrivateServer.StartAsync(PrivateServer.Require("MILVUS_TEST_ETCD_BIN"), Arguments(PeerUrl()));
        return new PrivateEtcd(server);
    }

    /// <summary>An etcd whose endpoint is known but which does not run yet; <see cref="StartAgainAsync"/> starts it.</summary>
    public static PrivateEtcd NotStarted() =>
        new(PrivateServer.NotStarted(PrivateServer.Require("MILVUS_TEST_ETCD_BIN"), Arguments(PeerUrl())));

    /// <summary>Starts the server (again, after <see cref="StopAsync"/>) and waits until it answers.</summary>
    public Task StartAgainAsync() => _server.StartAgainAsync();

    /// <summary>Kills the server.</summary>
    public Task StopAsync() => _server.StopAsync();

    /// <summary>kill -STOP of etcd: it keeps its connections but answers nothing until <see cref="ThawAsync"/>.</summary>
    public Task FreezeAsync() => _server.FreezeAsync();

    /// <summary>kill -CONT after <see cref="FreezeAsync"/>.</summary>
    public Task ThawAsync() => _server.ThawAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private static string PeerUrl() => $"http://127.0.0.1:{LoopbackPorts.Unused().ToString(CultureInfo.InvariantCulture)}";

    private static Func<PrivateServer, string[]> Arguments(string peer) => s =>
    [
        "--name", "private", "--data-dir", Path.Combine(s.DataDir, "etcd"),
        "--listen-client-urls", $"http://{s.Address}", "--advertise-client-urls", $"http://{s.Address}",
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", $"private={peer}", "--log-level", "error",
    ];
}
