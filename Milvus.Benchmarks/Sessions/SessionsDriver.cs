using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Milvus.Benchmarks.Http;
using Milvus.Domain.Kv;
using Milvus.Domain.Kv.Embedded;
using Milvus.Domain.Kv.Etcd;
using Milvus.Domain.Kv.Memory;
using Milvus.Domain.Sessions;

namespace Milvus.Benchmarks.Sessions;

/// <summary>
/// Sessions figures. (1) Failover: two published gateways on the etcd of <c>MILVUS_TEST_ETCD_ENDPOINTS</c>; kill -9
/// the active TSO, and time until the standby reports the tso role Healthy and until a <c>POST /api/v1/tso</c>
/// through it answers 200; the killed one is restarted as the next standby. Reported as min/median/max and as a
/// ratio to the TTL, the floor that lease expiry sets. (2) Watch delay: the time from a put to its event, through
/// <see cref="ServiceDiscovery.WatchServicesAsync"/> and, as the baseline in the same run, through the raw
/// <see cref="IMetaKv"/> watch, on etcd and on the embedded meta KV.
/// Usage: <c>dotnet run -c Release --project Milvus.Benchmarks -- sessions [runs] [ttls]</c>, e.g. <c>sessions 5 3,10</c>.
/// </summary>
public static class SessionsDriver
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        var ttls = args.Length > 1 ? args[1].Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray() : [3, 10];
        var etcd = Environment.GetEnvironmentVariable("MILVUS_TEST_ETCD_ENDPOINTS") is { Length: > 0 } e
            ? e
            : throw new InvalidOperationException("MILVUS_TEST_ETCD_ENDPOINTS is not set: source scripts/servers.sh and run servers_start first.");

        Console.WriteLine($"Sessions on etcd {etcd}, {Environment.ProcessorCount} cores");
        foreach (var ttl in ttls)
        {
            var (healthy, serving) = await FailoverAsync(etcd, ttl, runs);
            Console.WriteLine($"failover after kill -9, TTL {ttl} s, {runs} runs: tso Healthy on the standby {Describe(healthy, ttl)}; first 200 through it {Describe(serving, ttl)}");
        }

        await using (var kv = new EtcdKv(etcd, $"bench-watch-{Guid.NewGuid():N}"))
        {
            await WatchDelayAsync("etcd", kv, samples: 200);
            await kv.RemoveWithPrefixAsync("");
        }
        await using (var kv = await EmbeddedMetaKv.OpenAsync(new MemoryKv("bench"), "bench-watch"))
        {
            await WatchDelayAsync("embedded", kv, samples: 200);
        }
        return 0;
    }

    private static string Describe(List<double> seconds, int ttl)
    {
        var sorted = seconds.Order().ToList();
        var median = sorted[sorted.Count / 2];
        return $"min {sorted[0]:0.00} s, median {median:0.00} s, max {sorted[^1]:0.00} s (median / TTL {median / ttl:0.00})";
    }

    private static async Task<(List<double> Healthy, List<double> Serving)> FailoverAsync(string etcd, int ttl, int runs)
    {
        var root = $"bench-failover-{Guid.NewGuid():N}";
        var dirs = new[] { Directory.CreateTempSubdirectory("milvus-bench-a-").FullName, Directory.CreateTempSubdirectory("milvus-bench-b-").FullName };
        var gateways = new ChildServer?[2];
        var healthy = new List<double>();
        var serving = new List<double>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                gateways[i] = await StartAsync(dirs[i], etcd, root, ttl);
            }
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            for (var run = 0; run < runs; run++)
            {
                var active = await WaitForActiveAsync(http, gateways);
                var standby = 1 - active;
                gateways[active]!.Dispose();
                var clock = Stopwatch.StartNew();
                await WaitUntilAsync(async () => await TsoStateAsync(http, gateways[standby]!.Url) == "Healthy");
                healthy.Add(clock.Elapsed.TotalSeconds);
                await WaitUntilAsync(async () =>
                {
                    using var response = await http.PostAsync(gateways[standby]!.Url + "/api/v1/tso", new StringContent("{\"count\":1}", System.Text.Encoding.UTF8, "application/json"));
                    return response.IsSuccessStatusCode;
                });
                serving.Add(clock.Elapsed.TotalSeconds);
                gateways[active] = await StartAsync(dirs[active], etcd, root, ttl);
            }
        }
        finally
        {
            foreach (var gateway in gateways)
            {
                gateway?.Dispose();
            }
            await using (var kv = new EtcdKv(etcd, root))
            {
                await kv.RemoveWithPrefixAsync("");
            }
            foreach (var dir in dirs)
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        return (healthy, serving);
    }

    private static Task<ChildServer> StartAsync(string dataDir, string etcd, string root, int ttl)
    {
        var command = ChildCommand.Gateway(dataDir);
        command.Env["Milvus__Kv__Backend"] = "etcd";
        command.Env["Milvus__Etcd__Endpoints"] = etcd;
        command.Env["Milvus__Etcd__RootPath"] = root;
        command.Env["Milvus__Session__TtlSeconds"] = ttl.ToString(CultureInfo.InvariantCulture);
        return ChildServer.StartAsync("gateway", command);
    }

    private static async Task<int> WaitForActiveAsync(HttpClient http, ChildServer?[] gateways)
    {
        var active = -1;
        await WaitUntilAsync(async () =>
        {
            var states = new List<string>();
            foreach (var gateway in gateways)
            {
                states.Add(await TsoStateAsync(http, gateway!.Url));
            }
            active = states.Count(s => s == "Healthy") == 1 && states.Contains("StandBy") ? states.IndexOf("Healthy") : -1;
            return active >= 0;
        });
        return active;
    }

    private static async Task<string> TsoStateAsync(HttpClient http, string url)
    {
        try
        {
            using var states = JsonDocument.Parse(await http.GetStringAsync(url + "/api/v1/components/states"));
            return states.RootElement.GetProperty("subcomponentStates").EnumerateArray()
                .Single(c => c.GetProperty("role").GetString() == "tso").GetProperty("stateCode").GetString()!;
        }
        catch (HttpRequestException)
        {
            return "unreachable";
        }
    }

    /// <summary>Put → event delay through the raw watch and through the session watch, samples interleaved.</summary>
    private static async Task WatchDelayAsync(string backend, IMetaKv kv, int samples)
    {
        using var stop = new CancellationTokenSource();
        var raw = Channel.CreateBounded<long>(1024);
        var sessions = Channel.CreateBounded<long>(1024);
        var rawPump = PumpRawAsync(kv, raw.Writer, stop.Token);
        var discovery = new ServiceDiscovery(kv);
        var events = await discovery.WatchServicesAsync("bench", 0, stop.Token);
        var sessionPump = PumpSessionsAsync(events, sessions.Writer, stop.Token);

        // The raw watch starts from now without a revision: probe until it is live.
        await kv.SaveAsync("raw/probe", "0");
        await raw.Reader.ReadAsync().AsTask().WaitAsync(Patience);

        var rawDelays = new List<double>();
        var sessionDelays = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await kv.SaveAsync("raw/k", i.ToString(CultureInfo.InvariantCulture));
            rawDelays.Add(Stopwatch.GetElapsedTime(started, await raw.Reader.ReadAsync().AsTask().WaitAsync(Patience)).TotalMilliseconds);

            started = Stopwatch.GetTimestamp();
            await kv.SaveAsync($"session/bench-{i + 1}", $"{{\"ServerID\":{i + 1},\"ServerName\":\"bench\",\"Address\":\"a\",\"Exclusive\":false,\"Stopping\":false}}");
            sessionDelays.Add(Stopwatch.GetElapsedTime(started, await sessions.Reader.ReadAsync().AsTask().WaitAsync(Patience)).TotalMilliseconds);
        }
        await stop.CancelAsync();
        await Task.WhenAll(rawPump, sessionPump);

        double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        double P99(List<double> values) => values.Order().ElementAt(Math.Min(values.Count - 1, (int)(values.Count * 0.99)));
        Console.WriteLine($"watch delay on {backend}, {samples} puts: raw IMetaKv watch median {Median(rawDelays):0.000} ms p99 {P99(rawDelays):0.000} ms; "
            + $"session watch median {Median(sessionDelays):0.000} ms p99 {P99(sessionDelays):0.000} ms (median ratio to raw {Median(sessionDelays) / Median(rawDelays):0.00})");
    }

    private static async Task PumpRawAsync(IMetaKv kv, ChannelWriter<long> arrivals, CancellationToken stop)
    {
        try
        {
            await foreach (var response in kv.WatchWithPrefixAsync("raw/", stop))
            {
                await arrivals.WriteAsync(Stopwatch.GetTimestamp(), stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task PumpSessionsAsync(IAsyncEnumerable<SessionEvent> events, ChannelWriter<long> arrivals, CancellationToken stop)
    {
        try
        {
            await foreach (var e in events.WithCancellation(stop))
            {
                await arrivals.WriteAsync(Stopwatch.GetTimestamp(), stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var patience = new CancellationTokenSource(Patience);
        using var poll = new PeriodicTimer(Poll);
        while (!await condition())
        {
            await poll.WaitForNextTickAsync(patience.Token);
        }
    }
}
