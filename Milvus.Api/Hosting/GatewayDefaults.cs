namespace Milvus.Api.Hosting;

/// <summary>Defaults of the gateway process.</summary>
public static class GatewayDefaults
{
    /// <summary>Where the gateway listens when nothing else is configured: loopback only.</summary>
    public const string Url = "http://127.0.0.1:19530";
}
