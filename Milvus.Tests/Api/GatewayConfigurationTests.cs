using System.Net;
using System.Text;
using Microsoft.Extensions.Options;

namespace Milvus.Tests.Api;

public sealed class GatewayConfigurationTests
{
    [Fact]
    public async Task ABodyOverTheRequestLimitIsA413Problem()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Limits:MaxRequestBytes"] = "1024",
            ["Milvus:Limits:MaxMessageBytes"] = "512",
        });
        using var client = factory.CreateClient();
        var body = "{\"params\":{\"a\":\"" + new string('x', 4096) + "\"}}";

        var response = await client.PutAsync("/api/v1/params", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await GatewayBasicsTests.AssertProblem(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("MaxRequestBytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownBackendStopsTheStartNamingTheKeyAndTheValue()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?> { ["Milvus:Kv:Backend"] = "cassandra" });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var message = Flatten(error);
        Assert.Contains("Milvus:Kv:Backend", message, StringComparison.Ordinal);
        Assert.Contains("cassandra", message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnInvalidSettingStopsTheStartWithItsKey()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?> { ["Milvus:Session:TtlSeconds"] = "0" });

        var error = Assert.ThrowsAny<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains("Milvus:Session:TtlSeconds", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Milvus:MsgStream:MaxSubscriptions", "0")]
    [InlineData("Milvus:RocksMq:PageSize", "0")]
    [InlineData("Milvus:Archive:MaxSegmentMs", "0")]
    [InlineData("Milvus:Jobs:SnapshotRetentionMinutes", "0")]
    [InlineData("Milvus:Statistics:IntervalMs", "-1")]
    public void EverySubsystemsInvalidSettingStopsTheStartNamingItsKey(string key, string value)
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?> { [key] = value });

        var error = Assert.ThrowsAny<OptionsValidationException>(() => factory.CreateClient());

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    private static string Flatten(Exception error)
    {
        var text = new StringBuilder();
        for (var e = error; e is not null; e = e.InnerException)
        {
            text.AppendLine(e.Message);
        }
        return text.ToString();
    }
}
