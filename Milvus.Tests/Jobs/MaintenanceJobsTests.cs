using System.Diagnostics;
using Hangfire;
using Hangfire.Storage;
using Microsoft.Extensions.DependencyInjection;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Snapshot;
using Milvus.Domain.Tso;
using Milvus.Tests.Api;
using Milvus.Workers.Jobs;

namespace Milvus.Tests.Jobs;

public sealed class MaintenanceJobsTests
{
    [Fact]
    public async Task TheGatewaySchedulesSnapshotGcAndATriggeredGcDropsExpiredVersions()
    {
        using var factory = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Milvus:Jobs:PollingSeconds"] = "1",
            ["Milvus:Jobs:SnapshotRetentionMinutes"] = "1",
        });
        using var client = factory.CreateClient();
        var snapshots = factory.Services.GetRequiredService<SnapshotKv>();
        var now = DateTimeOffset.UtcNow;
        var old = HybridTimestamp.FromWallTime(now.AddHours(-2)).Value;
        var newer = HybridTimestamp.FromWallTime(now.AddHours(-1)).Value;
        await snapshots.SaveAsync("gc-test/k", "v1", old);
        await snapshots.SaveAsync("gc-test/k", "v2", newer);
        var before = await snapshots.LoadAsync("gc-test/k", old);
        List<RecurringJobDto> recurring;
        using (var connection = factory.Services.GetRequiredService<JobStorage>().GetConnection())
        {
            recurring = connection.GetRecurringJobs();
        }

        factory.Services.GetRequiredService<IRecurringJobManager>().Trigger(SnapshotKvGcJob.JobId);
        var patience = Stopwatch.StartNew();
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (await VersionExistsAsync(snapshots, old))
        {
            Assert.True(patience.Elapsed < TimeSpan.FromSeconds(60), "The triggered GC did not drop the expired version within 60 s.");
            await poll.WaitForNextTickAsync();
        }

        Assert.Equal("v1", before);
        Assert.Contains(recurring, r => r.Id == SnapshotKvGcJob.JobId && r.Cron == "*/10 * * * *");
        Assert.Equal("v2", await snapshots.LoadAsync("gc-test/k", 0));
        Assert.Equal("v2", await snapshots.LoadAsync("gc-test/k", newer));
    }

    private static async Task<bool> VersionExistsAsync(SnapshotKv snapshots, ulong ts)
    {
        try
        {
            await snapshots.LoadAsync("gc-test/k", ts);
            return true;
        }
        catch (KvKeyNotFoundException)
        {
            return false;
        }
    }
}
