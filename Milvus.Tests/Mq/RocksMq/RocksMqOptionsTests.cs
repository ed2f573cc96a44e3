using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Milvus.Domain.Components;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;
using Milvus.Domain.Params;
using Milvus.Tests.Api;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Mq.RocksMq;

public sealed class RocksMqOptionsTests
{
    [Fact]
    public void TheYamlKeysAreTheSameSettingsAsTheOptions()
    {
        using var dir = new TempDirectory();
        var yaml = dir.Combine("rocksmq.yaml");
        File.WriteAllText(yaml, "rocksmq:\n  syncWrites: true\n  pageSize: 4096\n  retentionTimeInMinutes: -1\n  retentionSizeInMB: 7\n");
        var configuration = new ConfigurationManager();
        configuration.Sources.Add(new YamlParamsConfigurationSource(yaml, optional: false));

        var options = configuration.GetSection(RocksMqOptions.SectionName).Get<RocksMqOptions>();

        Assert.NotNull(options);
        Assert.True(options.SyncWrites);
        Assert.Equal(4096, options.PageSize);
        Assert.Equal(-1, options.RetentionTimeInMinutes);
        Assert.Equal(7, options.RetentionSizeInMB);
        Assert.Null(options.Validate());
    }

    [Theory]
    [InlineData(0, 60, 1000)]
    [InlineData(1024, 0, 1000)]
    [InlineData(1024, 60, -1)]
    public void SettingsOutOfRangeAreNamed(long pageSize, int intervalSeconds, int maxWaitMs)
    {
        var error = new RocksMqOptions { PageSize = pageSize, RetentionIntervalSeconds = intervalSeconds, MaxWaitMs = maxWaitMs }.Validate();

        Assert.NotNull(error);
        Assert.StartsWith("Milvus:RocksMq:", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithSyncWritesMessagesAndPositionsRoundTripAndSurviveARestart()
    {
        await using var host = await RocksMqHost.StartAsync(new RocksMqOptions { SyncWrites = true });
        await host.Mq.CreateChannelAsync("ch");
        var ids = await host.Mq.ProduceAsync("ch", RocksMqTests.Payloads("a", "b"));
        await host.Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        await host.Mq.ConsumeAsync("ch", "g", 1);

        await host.RestartAsync();
        var info = (await host.Component.GetComponentStatesAsync(CancellationToken.None)).State;

        Assert.Equal(StateCode.Healthy, info.StateCode);
        Assert.Contains(new ExtraInfoPair("syncWrites", "true"), info.ExtraInfo);
        Assert.Equal([ids[1]], (await host.Mq.ConsumeAsync("ch", "g", 10)).Select(m => m.MsgId));
    }

    [Fact]
    public async Task TheGatewayBindsTheRocksMqSectionAndShowsItInTheParameterTable()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:RocksMq:SyncWrites"] = "true",
            ["Milvus:RocksMq:PageSize"] = "65536",
        });
        using var client = factory.CreateClient();

        var table = await client.GetFromJsonAsync<Dictionary<string, string>>("/api/v1/params?prefix=rocksmq.");
        using var states = JsonDocument.Parse(await client.GetStringAsync("/api/v1/components/states"));

        Assert.NotNull(table);
        Assert.Equal("true", table["rocksmq.syncwrites"]);
        Assert.Equal("65536", table["rocksmq.pagesize"]);
        var extra = states.RootElement.GetProperty("subcomponentStates").EnumerateArray()
            .Single(s => s.GetProperty("role").GetString() == "rocksmq")
            .GetProperty("extraInfo").EnumerateArray()
            .ToDictionary(e => e.GetProperty("key").GetString()!, e => e.GetProperty("value").GetString());
        Assert.Equal("true", extra["syncWrites"]);
        Assert.Equal("65536", extra["pageSize"]);
    }
}
