using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Api;

/// <summary>The published gateway, started with a bad setting, stops with exit code 1 and one line that names it.</summary>
public sealed class StartFailureTests
{
    [Theory]
    [InlineData("Milvus:Limits:MaxRequestBytes", "100", "Milvus:Limits:MaxRequestBytes")]
    [InlineData("Milvus:Session:TtlSeconds", "abc", "'Milvus:Session:TtlSeconds'")]
    [InlineData("Milvus:Mq:Backend", "cassandra", "'Milvus:Mq:Backend'")]
    public async Task ABadSettingStopsTheStartWithOneLineNamingIt(string key, string value, string named)
    {
        using var dir = new TempDirectory();
        await using var gateway = new GatewayProcess(dir.Path, new Dictionary<string, string> { [key] = value });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => gateway.StartAsync());

        Assert.Contains("exited with code 1", error.Message, StringComparison.Ordinal);
        var lines = gateway.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("--- start", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(lines);
        Assert.StartsWith("The gateway cannot start: ", line, StringComparison.Ordinal);
        Assert.Contains(named, line, StringComparison.Ordinal);
    }
}
