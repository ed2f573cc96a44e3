using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Milvus.Tests.GeneratedClient;

namespace Milvus.Tests.Api;

/// <summary>
/// A typed client that NSwag generates at build time from <c>docs/openapi.json</c> (see Milvus.Tests.csproj), used as a
/// user would use it; and <c>docs/openapi.json</c> is the document the gateway serves, so the client is generated
/// from the truth.
/// </summary>
public sealed class GeneratedClientTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task TheCheckedInDocumentIsTheOneTheGatewayServes()
    {
        using var factory = new GatewayFactory();
        using var client = factory.CreateClient();
        var served = await client.GetStringAsync("/swagger/v1/swagger.json");
        var file = Infrastructure.RepositoryFiles.PathOf("docs", "openapi.json");
        if (Environment.GetEnvironmentVariable("MILVUS_UPDATE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(file, JsonNode.Parse(served)!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        }

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(await File.ReadAllTextAsync(file)), JsonNode.Parse(served)),
            "docs/openapi.json differs from the document the gateway serves: run MILVUS_UPDATE_OPENAPI=1 ./scripts/test.sh --filter GeneratedClientTests, and commit the file.");
    }

    [Fact]
    public async Task TheGeneratedClientReadsStatesMakesAChannelProducesAndConsumesAJsonInsertAndAllocatesTimestamps()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?> { ["Milvus:TimeTick:IntervalMs"] = "20" });
        var gateway = new MilvusGatewayClient(factory.CreateClient());

        var states = await gateway.GetComponentStatesAsync();
        await gateway.CreateNamedChannelAsync("generated", new PutChannelRequest { OwnerDescription = new OwnerDescriptionBody { Role = "client-test" } });
        var channels = await gateway.ListChannelsAsync();
        var request = new StreamProduceRequest
        {
            Channels = ["generated"],
            Msgs =
            [
                new StreamMsg
                {
                    MsgType = "Insert",
                    Insert = new InsertMsgBody
                    {
                        CollectionName = "books",
                        Rows = [new InsertMsgRow { RowId = 1, HashKey = 7, Data = Encoding.UTF8.GetBytes("dune") }, new InsertMsgRow { RowId = 2, HashKey = 8, Data = Encoding.UTF8.GetBytes("emma") }],
                    },
                },
            ],
        };
        var written = await gateway.ProduceMsgStreamAsync("generated-write-1", request);
        var retried = await gateway.ProduceMsgStreamAsync("generated-write-1", request);
        StreamMsg? insert = null;
        var clock = Stopwatch.StartNew();
        while (insert is null)
        {
            Assert.True(clock.Elapsed < Patience, "The Insert did not arrive in time.");
            var pack = await gateway.ConsumeMsgStreamAsync(new StreamConsumeRequest
            {
                Channels = ["generated"],
                SubName = "generated-sub",
                TimeTickAligned = true,
                WaitMs = 500,
                Position = StreamConsumeRequestPosition.Earliest,
            });
            insert = pack.Msgs.FirstOrDefault(m => m.MsgType == "Insert");
        }
        var timestamps = await gateway.AllocateTimestampsAsync(new TimestampRequest { Count = 3 });

        Assert.Equal(StateCode.Healthy, states.State.StateCode);
        Assert.Contains("generated", channels.ChannelNames);
        Assert.Equal("generated", Assert.Single(written.Positions).ChannelName);
        Assert.Equal(written.Positions.Single().MsgId, Assert.Single(retried.Positions).MsgId);
        Assert.Equal(written.Positions.Single().Timestamp, retried.Positions.Single().Timestamp);
        Assert.Equal("books", insert.Insert!.CollectionName);
        Assert.Equal(["dune", "emma"], insert.Insert.Rows.Select(r => Encoding.UTF8.GetString(r.Data!)));
        Assert.Equal([7, 8], insert.HashKeys!);
        Assert.Null(insert.Payload);
        Assert.Equal(3, timestamps.Count);
        Assert.True(timestamps.Timestamp > insert.EndTs);
    }
}
