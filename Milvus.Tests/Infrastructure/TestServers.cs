namespace Milvus.Tests.Infrastructure;

/// <summary>
/// The endpoints of the real servers that scripts/test.sh starts. A test that needs one fails with a clear
/// message when it is missing: no test is skipped for want of a server.
/// </summary>
public static class TestServers
{
    public static string EtcdEndpoints => Require("MILVUS_TEST_ETCD_ENDPOINTS");

    public static string Redis => Require("MILVUS_TEST_REDIS");

    /// <summary>The NATS server with JetStream that scripts/test.sh starts (<c>nats://127.0.0.1:PORT</c>).</summary>
    public static string Nats => Require("MILVUS_TEST_NATS");

    public static string S3Endpoint => Require("MILVUS_TEST_S3_ENDPOINT");

    public static string S3AccessKey => Require("MILVUS_TEST_S3_ACCESS_KEY");

    public static string S3SecretKey => Require("MILVUS_TEST_S3_SECRET_KEY");

    public static string S3Bucket => Require("MILVUS_TEST_S3_BUCKET");

    private static string Require(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{variable} is not set. Run the suite with ./scripts/test.sh, which starts the real servers the tests need.");
}
