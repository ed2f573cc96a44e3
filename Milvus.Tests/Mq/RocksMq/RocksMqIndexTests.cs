using System.Globalization;
using System.Text.RegularExpressions;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;
using Xunit.Abstractions;

namespace Milvus.Tests.Mq.RocksMq;

public sealed class RocksMqIndexTests(ITestOutputHelper output)
{
    /// <summary>The block cache is 32 MiB in 64 LRU shards; a block larger than a shard is dropped once read.</summary>
    private const long CacheShardBytes = 32L * 1024 * 1024 / 64;

    [Fact]
    public async Task AConsumeSeeksThroughIndexBlocksThatFitTheBlockCacheHoweverLargeTheChannelsFileGrows()
    {
        // Issue 23: a consume creates an iterator and seeks. With one index block per file, a 64 MiB file of 1 KiB
        // msgs has an index of about 1 MiB, more than a cache shard keeps, so every consume read it from the file
        // and decompressed it again, and a mixed load slowed as the channel's files grew.
        await using var host = await RocksMqHost.StartAsync();
        var mq = host.Mq;
        await mq.CreateChannelAsync("ch");
        await mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        var payload = new byte[1024];
        new Random(23).NextBytes(payload);
        var batch = Enumerable.Repeat((ReadOnlyMemory<byte>)payload, 1000).ToArray();
        for (var i = 0; i < 120; i++)
        {
            await mq.ProduceAsync("ch", batch);
        }
        host.Flush();
        using (host.Database.Acquire())
        {
            host.Database.Db.CompactRange(RocksMqKeys.DataPrefix("ch"), RocksMqKeys.DataUpperBound("ch"), host.Database.Data);
        }

        string properties;
        using (host.Database.Acquire())
        {
            properties = host.Database.Db.GetProperty("rocksdb.aggregated-table-properties", host.Database.Data);
        }
        output.WriteLine(properties);
        var partitions = Field(properties, @"# index partitions");
        var topLevel = Field(properties, @"top-level index size");
        var indexBytes = Field(properties, @"index block size \(user-key\? \d+, delta-value\? \d+\)");
        Assert.True(indexBytes > CacheShardBytes, $"The test needs an index larger than a cache shard; it wrote {indexBytes} bytes of index.");
        Assert.True(partitions > 1, $"The index is in {partitions} partitions.");
        Assert.InRange(topLevel, 1, CacheShardBytes);

        // And the channel still reads back in order, one msg a consume, across the compacted file.
        var previous = 0L;
        for (var i = 0; i < 1000; i++)
        {
            var msg = Assert.Single(await mq.ConsumeAsync("ch", "g", 1));
            Assert.True(msg.MsgId > previous);
            previous = msg.MsgId;
        }
    }

    /// <summary>A number from RocksDB's table properties text ("name=value; ..."), the name as a pattern; 0 when absent.</summary>
    private static long Field(string properties, string name)
    {
        var match = Regex.Match(properties, name + @"=(\d+)");
        return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }
}
