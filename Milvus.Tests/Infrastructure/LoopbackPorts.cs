using System.Net;
using System.Net.Sockets;

namespace Milvus.Tests.Infrastructure;

/// <summary>
/// Loopback ports for the servers that tests start, and for tests that need a port where nothing listens.
/// </summary>
/// <remarks>
/// A port the kernel hands out for port 0 comes from its ephemeral range (32768–60999 on Linux), the same range every
/// outgoing connection of every process takes its local port from. Between the check and the server's own bind
/// (a gateway process binds seconds later), one of the suite's many connections could take it, and the server
/// would fail to start. Ports here are drawn at random below that range, where only an explicit bind takes a port.
/// </remarks>
public static class LoopbackPorts
{
    private const int First = 20000;
    private const int Count = 12000;

    /// <summary>A 127.0.0.1 port below the ephemeral range that nothing listens on now.</summary>
    public static int Unused()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = First + Random.Shared.Next(Count);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                // Taken: draw another.
            }
        }
        throw new InvalidOperationException($"No unused loopback port in {First}–{First + Count - 1} after 200 draws.");
    }
}
