using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Milvus.Benchmarks.Http;

namespace Milvus.Benchmarks.Cluster;

/// <summary>
/// Three gateways (Release builds as child processes) on one etcd and one redis-server, as a load balancer sees them.
/// Part 1, throughput: closed-loop producers post <c>POST /api/v1/msgstream/produce</c> batches of <c>batch</c> × 1 KiB
/// msgs, in interleaved rounds, all to one gateway (the baseline) and round-robin over the three; the ratio is the
/// three-gateway rate over the one-gateway rate. Part 2, time tick latency: one producer per gateway writes a msg every
/// 20 ms, and two subscriptions through one gateway read them back, one time-ticked and one plain (the baseline: the same
/// path without waiting for a tick); the figure is the time from a produce's answer to the msg's arrival.
/// Needs MILVUS_TEST_ETCD_ENDPOINTS and MILVUS_TEST_REDIS (scripts/servers.sh sets them).
/// Usage: <c>dotnet run -c Release --project Milvus.Benchmarks -- cluster [seconds] [producers] [batch]</c>.
/// </summary>
public static class ClusterDriver
{
    private const int Gateways = 3;
    private const int IntervalMs = 200;

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
        var producers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 6;
        var batch = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100;
        var etcd = Environment.GetEnvironmentVariable("MILVUS_TEST_ETCD_ENDPOINTS") ?? throw new InvalidOperationException("Set MILVUS_TEST_ETCD_ENDPOINTS (source scripts/servers.sh; servers_start).");
        var redis = Environment.GetEnvironmentVariable("MILVUS_TEST_REDIS") ?? throw new InvalidOperationException("Set MILVUS_TEST_REDIS.");
        var root = $"bench-{Guid.NewGuid():N}";
        var dataDir = Directory.CreateTempSubdirectory("milvus-cluster-bench-").FullName;
        var servers = new List<ChildServer>();
        try
        {
            for (var i = 0; i < Gateways; i++)
            {
                var command = ChildCommand.Gateway(Path.Combine(dataDir, $"g{i}"));
                command.Env["Milvus__Kv__Backend"] = "etcd";
                command.Env["Milvus__Etcd__Endpoints"] = etcd;
                command.Env["Milvus__Etcd__RootPath"] = root;
                command.Env["Milvus__Mq__Backend"] = "redis";
                command.Env["Milvus__Redis__Configuration"] = redis;
                command.Env["Milvus__TimeTick__IntervalMs"] = IntervalMs.ToString(CultureInfo.InvariantCulture);
                command.Env["DOTNET_GCgen0size"] = "0x4000000";
                servers.Add(await ChildServer.StartAsync($"gateway-{i}", command));
            }
            var clients = servers.Select(s => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = producers + 4 })
            {
                BaseAddress = new Uri(s.Url + "/"),
                Timeout = TimeSpan.FromMinutes(2),
            }).ToArray();
            await WaitReadyAsync(clients);
            string[] channels = ["bench-0", "bench-1"];
            foreach (var channel in channels)
            {
                using var created = await clients[0].PutAsync($"api/v1/channels/{channel}", JsonContent.Create(new { }));
                Ensure(created, HttpStatusCode.Created);
            }

            await ThroughputAsync(clients, channels, producers, batch, TimeSpan.FromSeconds(seconds));
            await LatencyAsync(clients, channels, TimeSpan.FromSeconds(seconds));
            return 0;
        }
        finally
        {
            foreach (var server in servers)
            {
                server.Dispose();
            }
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static async Task ThroughputAsync(HttpClient[] clients, string[] channels, int producers, int batch, TimeSpan duration)
    {
        var payload = Convert.ToBase64String(new byte[1024]);
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            channels,
            msgs = Enumerable.Range(0, batch).Select(i => new { msgType = "Search", hashKeys = new[] { (uint)i }, payload }).ToArray(),
        });
        const int Rounds = 5;
        var slice = duration / Rounds;
        long oneCalls = 0, threeCalls = 0;
        TimeSpan oneTime = TimeSpan.Zero, threeTime = TimeSpan.Zero;
        for (var round = 0; round < Rounds; round++)
        {
            var (n, t) = await DriveAsync(producers, slice, _ => clients[0], body);
            oneCalls += n;
            oneTime += t;
            (n, t) = await DriveAsync(producers, slice, i => clients[i % clients.Length], body);
            threeCalls += n;
            threeTime += t;
        }
        var one = oneCalls * batch / oneTime.TotalSeconds;
        var three = threeCalls * batch / threeTime.TotalSeconds;
        Console.WriteLine($"msgstream produce on Redis, batches of {batch} × 1 KiB, {producers} producers, {Rounds} interleaved rounds of {slice.TotalSeconds:0.#} s, {Environment.ProcessorCount} cores, load {LoadAverage()}");
        Console.WriteLine($"one gateway (baseline)        : {one,10:N0} msg/s");
        Console.WriteLine($"three gateways, round-robin   : {three,10:N0} msg/s   ratio {three / one:0.00}");
    }

    private static async Task<(long Calls, TimeSpan Elapsed)> DriveAsync(int producers, TimeSpan duration, Func<long, HttpClient> pick, byte[] body)
    {
        var calls = 0L;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
        {
            while (stopwatch.Elapsed < duration)
            {
                var n = Interlocked.Increment(ref calls);
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await pick(n).PostAsync("api/v1/msgstream/produce", content);
                Ensure(response, HttpStatusCode.OK);
            }
        })));
        return (calls, stopwatch.Elapsed);
    }

    private static async Task LatencyAsync(HttpClient[] clients, string[] channels, TimeSpan duration)
    {
        var acked = new ConcurrentDictionary<string, long>();
        var aligned = new ConcurrentDictionary<string, long>();
        var plain = new ConcurrentDictionary<string, long>();
        using var stop = new CancellationTokenSource();
        // Both subscriptions start at the latest msg before any of this part's msgs.
        var readers = new[]
        {
            Task.Run(() => ReadAsync(clients[0], channels, "lat-aligned", true, aligned, stop.Token)),
            Task.Run(() => ReadAsync(clients[0], channels, "lat-plain", false, plain, stop.Token)),
        };
        await Task.Delay(1000);
        var writers = clients.Select((client, g) => Task.Run(async () =>
        {
            using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var text = $"g{g}-{i}";
                var msg = new { msgType = "Search", hashKeys = new[] { (uint)i }, payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(text)) };
                using var response = await client.PostAsJsonAsync("api/v1/msgstream/produce", new { channels, msgs = new[] { msg } });
                Ensure(response, HttpStatusCode.OK);
                acked[text] = Stopwatch.GetTimestamp();
                await pace.WaitForNextTickAsync();
            }
        })).ToArray();
        await Task.Delay(duration);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        await Task.Delay(2 * IntervalMs + 1000);
        var alignedMs = Latencies(acked, aligned);
        var plainMs = Latencies(acked, plain);
        foreach (var reader in readers)
        {
            await reader;
        }
        Console.WriteLine($"Time tick latency, {Gateways} producing gateways at a {IntervalMs} ms interval, {acked.Count:N0} msgs, produce answer to arrival, load {LoadAverage()}");
        Console.WriteLine($"time-ticked subscription      : p50 {Percentile(alignedMs, 0.5),6:0.0} ms  p99 {Percentile(alignedMs, 0.99),6:0.0} ms  max {alignedMs.DefaultIfEmpty().Max(),6:0.0} ms  ({alignedMs.Count:N0} arrived; target p99 <= {IntervalMs + 50} ms)");
        Console.WriteLine($"plain subscription (baseline) : p50 {Percentile(plainMs, 0.5),6:0.0} ms  p99 {Percentile(plainMs, 0.99),6:0.0} ms  ({plainMs.Count:N0} arrived)");
    }

    private static async Task ReadAsync(HttpClient client, string[] channels, string subName, bool timeTickAligned, ConcurrentDictionary<string, long> arrived, CancellationToken stop)
    {
        var quietAfterStop = 0;
        while (quietAfterStop < 3)
        {
            using var response = await client.PostAsJsonAsync("api/v1/msgstream/consume",
                new { channels, subName, timeTickAligned, waitMs = 500, position = "latest" });
            Ensure(response, HttpStatusCode.OK);
            var now = Stopwatch.GetTimestamp();
            using var pack = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var msgs = pack.RootElement.GetProperty("msgs").EnumerateArray().Where(m => m.GetProperty("msgType").GetString() != "TimeTick").ToList();
            foreach (var msg in msgs)
            {
                arrived.TryAdd(Encoding.UTF8.GetString(msg.GetProperty("payload").GetBytesFromBase64()), now);
            }
            // A plain subscription also answers the TimeTick msgs; only the producers' msgs count.
            quietAfterStop = stop.IsCancellationRequested && msgs.Count == 0 ? quietAfterStop + 1 : 0;
        }
    }

    private static List<double> Latencies(ConcurrentDictionary<string, long> acked, ConcurrentDictionary<string, long> arrived) =>
        [.. acked.Where(a => arrived.ContainsKey(a.Key)).Select(a => Stopwatch.GetElapsedTime(a.Value, arrived[a.Key]).TotalMilliseconds).Order()];

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static async Task WaitReadyAsync(HttpClient[] clients)
    {
        var clock = Stopwatch.StartNew();
        foreach (var client in clients)
        {
            while (true)
            {
                using var ready = await client.GetAsync("health/ready");
                if (ready.IsSuccessStatusCode)
                {
                    break;
                }
                if (clock.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new InvalidOperationException("The gateways did not become ready within 60 s.");
                }
                await Task.Delay(100);
            }
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    private static void Ensure(HttpResponseMessage response, HttpStatusCode expected)
    {
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
        }
    }
}
