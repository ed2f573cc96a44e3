using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Milvus.Domain.Kv.RocksDb;
using Milvus.Domain.Mq.RocksMq;
using Milvus.Tests.Infrastructure;

namespace Milvus.Tests.Api;

/// <summary>The in-memory gateway is gone, with every file handle of its data directory, when its dispose returns.</summary>
public sealed class GatewayFactoryTests
{
    private const int Rounds = 5;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DisposeReturnsOnlyOnceBothRocksDbDatabasesOfTheDataDirAreClosed(bool disposeAsync)
    {
        using var dataDir = new TempDirectory();
        for (var round = 0; round < Rounds; round++)
        {
            var gateway = await StartAsync(dataDir.Path);
            var queue = gateway.Services.GetRequiredService<RocksMqDatabase>();

            if (disposeAsync)
            {
                await gateway.DisposeAsync();
            }
            else
            {
                gateway.Dispose();
            }

            Assert.False(queue.IsOpen);
            await AssertDataDirIsFreeAsync(dataDir.Path);
        }
    }

    private static async Task<GatewayFactory> StartAsync(string dataDir)
    {
        var gateway = new GatewayFactory(new Dictionary<string, string?> { ["Milvus:DataDir"] = dataDir });
        using var client = gateway.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        return gateway;
    }

    /// <summary>Opens (and closes) the meta store and RocksMQ of the directory; RocksDB refuses a database whose LOCK is held.</summary>
    private static async Task AssertDataDirIsFreeAsync(string dataDir)
    {
        await RocksDbKv.Open(Path.Combine(dataDir, "meta")).DisposeAsync();
        using var queue = new RocksMqDatabase();
        queue.Open(Path.Combine(dataDir, RocksMqComponent.Folder), syncWrites: false);
    }
}
