using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;
using Milvus.Workers.Mq;
using Xunit.Abstractions;

namespace Milvus.Tests.Mq.RocksMq;

public sealed class RocksMqRetentionTests(ITestOutputHelper output)
{
    // "ch/" + an 8-byte id is an 11-byte key, so 89-byte payloads make 100-byte messages: ten to a 1000-byte page.
    private const int SmallPayload = 89;

    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task ConsumedPagesGoOnceOlderThanTheRetentionTimeWhileUnconsumedOnesStay()
    {
        await using var host = await StartAsync(new RocksMqOptions { PageSize = 1000, RetentionTimeInMinutes = 10, RetentionSizeInMB = -1 });
        var mq = host.Mq;
        var ids = await ProduceNumbered(mq, "ch", 100, SmallPayload);
        await mq.CreateConsumerGroupAsync("ch", "fast", MqStartPosition.Earliest);
        await mq.CreateConsumerGroupAsync("ch", "slow", MqStartPosition.Earliest);
        await mq.ConsumeAsync("ch", "fast", 55);
        await mq.ConsumeAsync("ch", "slow", 25);

        _time.Advance(TimeSpan.FromMinutes(9));
        var early = await mq.RunRetentionAsync();
        _time.Advance(TimeSpan.FromMinutes(2));
        var due = await mq.RunRetentionAsync();

        Assert.Equal(0, early.Pages);
        Assert.Equal((2, 20L), (due.Pages, due.Messages));
        Assert.Equal(80, host.CountDataKeys("ch"));
        await Assert.ThrowsAsync<MqMsgIdNotFoundException>(() => mq.SeekAsync("ch", "fast", ids[19]));
        var slowRest = await mq.ConsumeAsync("ch", "slow", 1000);
        Assert.Equal(ids.Skip(25), slowRest.Select(m => m.MsgId));
        var fastRest = await mq.ConsumeAsync("ch", "fast", 1000);
        Assert.Equal(ids.Skip(55), fastRest.Select(m => m.MsgId));
        await mq.SeekToAsync("ch", "fast", MqStartPosition.Earliest);
        Assert.Equal(ids[20], (await mq.ConsumeAsync("ch", "fast", 1))[0].MsgId);
    }

    [Fact]
    public async Task ExpiredIdempotencyKeysAreDeletedAndLiveOnesKept()
    {
        await using var host = await StartAsync(new RocksMqOptions());
        var mq = host.Mq;
        await mq.CreateChannelAsync("ch");
        var batch = new ReadOnlyMemory<byte>[] { Encoding.UTF8.GetBytes("m") };
        var fingerprint = MqProduceKey.FingerprintOf(batch);
        await mq.ProduceAsync("ch", batch, new MqProduceKey("short", fingerprint, TimeSpan.FromMinutes(1)));
        await mq.ProduceAsync("ch", batch, new MqProduceKey("long", fingerprint, TimeSpan.FromMinutes(10)));

        var early = await mq.RunRetentionAsync();
        _time.Advance(TimeSpan.FromMinutes(2));
        var due = await mq.RunRetentionAsync();
        var shortAgain = await mq.ProduceAsync("ch", batch, new MqProduceKey("short", fingerprint, TimeSpan.FromMinutes(1)));
        var longAgain = await mq.ProduceAsync("ch", batch, new MqProduceKey("long", fingerprint, TimeSpan.FromMinutes(10)));

        Assert.Equal(0, early.ExpiredKeys);
        Assert.Equal(1, due.ExpiredKeys);
        Assert.False(shortAgain.Replayed);
        Assert.True(longAgain.Replayed);
        Assert.Equal(3, host.CountDataKeys("ch"));
    }

    [Fact]
    public async Task AChannelWithoutGroupsKeepsEveryPage()
    {
        await using var host = await StartAsync(new RocksMqOptions { PageSize = 1000, RetentionTimeInMinutes = 0, RetentionSizeInMB = 0 });
        await ProduceNumbered(host.Mq, "ch", 50, SmallPayload);

        _time.Advance(TimeSpan.FromDays(30));
        var result = await host.Mq.RunRetentionAsync();

        Assert.Equal(0, result.Pages);
        Assert.Equal(50, host.CountDataKeys("ch"));
    }

    [Fact]
    public async Task TheSizeLimitTrimsOnlyAcknowledgedPagesOldestFirst()
    {
        // 8 KiB payloads make 8203-byte messages: a 64 KiB page closes every 8 messages and holds 65624 bytes.
        await using var host = await StartAsync(new RocksMqOptions { PageSize = 64 * 1024, RetentionTimeInMinutes = -1, RetentionSizeInMB = 1 });
        var mq = host.Mq;
        var ids = await ProduceNumbered(mq, "ch", 400, 8 * 1024);
        await mq.CreateConsumerGroupAsync("ch", "g1", MqStartPosition.Earliest);
        await mq.CreateConsumerGroupAsync("ch", "g2", MqStartPosition.Earliest);
        await mq.ConsumeAsync("ch", "g1", 300);
        await mq.ConsumeAsync("ch", "g2", 350);

        var result = await mq.RunRetentionAsync();
        var again = await mq.RunRetentionAsync();

        // Pages 0..36 (messages 0..295) are acknowledged by both groups; 15 of them fit in 1 MiB, so 22 go.
        Assert.Equal((22, 176L), (result.Pages, result.Messages));
        Assert.Equal(0, again.Pages);
        Assert.Equal(400 - 176, host.CountDataKeys("ch"));
        var g1Rest = await mq.ConsumeAsync("ch", "g1", 1000);
        Assert.Equal(ids.Skip(300), g1Rest.Select(m => m.MsgId));
        await mq.SeekAsync("ch", "g1", ids[176]);
        await Assert.ThrowsAsync<MqMsgIdNotFoundException>(() => mq.SeekAsync("ch", "g1", ids[175]));
    }

    [Fact]
    public async Task PagesAndTheirAgesSurviveARestart()
    {
        await using var host = await StartAsync(new RocksMqOptions { PageSize = 1000, RetentionTimeInMinutes = 10, RetentionSizeInMB = -1 });
        await ProduceNumbered(host.Mq, "ch", 25, SmallPayload);
        await host.Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        await host.Mq.ConsumeAsync("ch", "g", 100);

        await host.RestartAsync();
        await ProduceNumbered(host.Mq, "ch", 5, SmallPayload);
        await host.Mq.ConsumeAsync("ch", "g", 100);
        _time.Advance(TimeSpan.FromMinutes(10));
        var result = await host.Mq.RunRetentionAsync();

        // Pages closed at messages 10 and 20 before the restart, and at 30 after it (the open page was re-measured).
        Assert.Equal((3, 30L), (result.Pages, result.Messages));
        Assert.Equal(0, host.CountDataKeys("ch"));
    }

    [Fact]
    public async Task TheRetentionWorkerRunsThePassOnItsInterval()
    {
        var options = new RocksMqOptions { PageSize = 1000, RetentionTimeInMinutes = 0, RetentionSizeInMB = -1, RetentionIntervalSeconds = 60 };
        await using var host = await StartAsync(options);
        await ProduceNumbered(host.Mq, "ch", 30, SmallPayload);
        await host.Mq.CreateConsumerGroupAsync("ch", "g", MqStartPosition.Earliest);
        await host.Mq.ConsumeAsync("ch", "g", 100);
        using var worker = new RocksMqRetentionService(host.Mq, Options.Create(options), _time, NullLogger<RocksMqRetentionService>.Instance);

        await worker.StartAsync(CancellationToken.None);
        var before = host.CountDataKeys("ch");
        _time.Advance(TimeSpan.FromSeconds(60));
        var emptied = await Eventually(() => host.CountDataKeys("ch") == 0, TimeSpan.FromSeconds(30));
        await worker.StopAsync(CancellationToken.None);

        Assert.Equal(30, before);
        Assert.True(emptied, "the worker did not delete the acknowledged pages after one interval");
    }

    [Fact]
    public async Task RetentionGivesTheDiskBackOnMoreThan100MegabytesOfMessages()
    {
        await using var host = await StartAsync(new RocksMqOptions { PageSize = 4L * 1024 * 1024, RetentionTimeInMinutes = 0, RetentionSizeInMB = -1 });
        var mq = host.Mq;
        await mq.CreateChannelAsync("big");
        await mq.CreateConsumerGroupAsync("big", "g", MqStartPosition.Earliest);
        var random = new Random(42);
        const int batches = 110;
        for (var b = 0; b < batches; b++)
        {
            var payloads = new ReadOnlyMemory<byte>[100];
            for (var i = 0; i < payloads.Length; i++)
            {
                var bytes = new byte[10 * 1024];
                random.NextBytes(bytes);
                payloads[i] = bytes;
            }
            await mq.ProduceAsync("big", payloads);
        }
        var consumed = 0;
        for (var batch = await mq.ConsumeAsync("big", "g", 1000); batch.Count > 0; batch = await mq.ConsumeAsync("big", "g", 1000))
        {
            consumed += batch.Count;
        }
        host.Flush();
        var before = host.SizeOnDisk();

        var result = await mq.RunRetentionAsync();
        var shrunk = await Eventually(() => host.SizeOnDisk() < before / 4, TimeSpan.FromSeconds(60));
        var after = host.SizeOnDisk();
        output.WriteLine($"on disk: {before / 1048576.0:F1} MiB before, {after / 1048576.0:F1} MiB after; {result.Pages} pages, {result.Bytes / 1048576.0:F1} MiB deleted");

        Assert.Equal(batches * 100, consumed);
        Assert.True(before > 100L * 1024 * 1024, $"only {before} bytes were on disk before retention");
        Assert.True(result.Pages >= 25, $"only {result.Pages} pages were deleted");
        Assert.True(shrunk, $"the database stayed at {after} bytes (from {before})");
    }

    [Fact]
    public async Task RetentionRunningAlongsideProducersAndConsumersNeverDeletesAnUnreadMessage()
    {
        await using var host = await StartAsync(new RocksMqOptions { PageSize = 500, RetentionTimeInMinutes = 0, RetentionSizeInMB = 0 });
        var mq = host.Mq;
        var channels = new[] { "r1", "r2" };
        foreach (var channel in channels)
        {
            await mq.CreateChannelAsync(channel);
            await mq.CreateConsumerGroupAsync(channel, "reader", MqStartPosition.Earliest);
        }
        const int perProducer = 400;
        using var done = new CancellationTokenSource();

        var producers = channels.SelectMany(channel => Enumerable.Range(0, 2).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < perProducer; i += 4)
            {
                await mq.ProduceAsync(channel, RocksMqTests.Payloads([.. Enumerable.Range(i, 4).Select(s => $"{p}:{s}:{new string('x', 40)}")]));
            }
        }))).ToList();
        var readers = channels.Select(channel => Task.Run(async () =>
        {
            var read = new List<MqMessage>();
            while (read.Count < 2 * perProducer)
            {
                read.AddRange(await mq.ConsumeAsync(channel, "reader", 3, TimeSpan.FromMilliseconds(100)));
            }
            return read;
        })).ToList();
        var passes = 0;
        var firstPass = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var retention = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                await mq.RunRetentionAsync();
                passes++;
                firstPass.TrySetResult();
            }
        });

        await Task.WhenAll(producers).WaitAsync(TimeSpan.FromSeconds(60));
        var reads = await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(60));
        // The loop may not have been scheduled yet on a busy machine: it runs at least once before it is told to stop.
        await firstPass.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await done.CancelAsync();
        await retention.WaitAsync(TimeSpan.FromSeconds(60));
        await mq.RunRetentionAsync();

        Assert.True(passes > 0);
        foreach (var read in reads)
        {
            Assert.Equal(2 * perProducer, read.Count);
            Assert.Equal(read.Select(m => m.MsgId).Order(), read.Select(m => m.MsgId));
            Assert.Equal(2 * perProducer, read.Select(m => m.MsgId).Distinct().Count());
            foreach (var producer in RocksMqTests.Texts(read).GroupBy(t => t.Split(':')[0]))
            {
                Assert.Equal(Enumerable.Range(0, perProducer), producer.Select(t => int.Parse(t.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture)));
            }
        }
        Assert.All(channels, c => Assert.True(host.CountDataKeys(c) < 2 * perProducer, $"retention deleted nothing on {c}"));
    }

    private async Task<RocksMqHost> StartAsync(RocksMqOptions options) => await RocksMqHost.StartAsync(options, _time);

    private static async Task<IReadOnlyList<long>> ProduceNumbered(IMqClient mq, string channel, int count, int payloadSize)
    {
        if (!await mq.ChannelExistsAsync(channel))
        {
            await mq.CreateChannelAsync(channel);
        }
        var payloads = Enumerable.Range(0, count).Select(i =>
        {
            var bytes = new byte[payloadSize];
            Encoding.ASCII.GetBytes($"m{i}").CopyTo(bytes, 0);
            return (ReadOnlyMemory<byte>)bytes;
        }).ToList();
        var ids = new List<long>();
        foreach (var chunk in payloads.Chunk(7))
        {
            ids.AddRange(await mq.ProduceAsync(channel, chunk));
        }
        return ids;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, checking every few milliseconds, up to <paramref name="timeout"/>.</summary>
    private static async Task<bool> Eventually(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }
            await Task.Delay(20);
        }
        return true;
    }
}
