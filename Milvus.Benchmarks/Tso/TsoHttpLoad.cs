using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Milvus.Benchmarks.Http;
using Milvus.Domain.Allocation;
using Milvus.Workers.Tso.Http;

namespace Milvus.Benchmarks.Tso;

/// <summary>
/// A closed-loop HTTP load driver over loopback. It runs, one after the other and with the same driver and
/// concurrency: (1) a bare minimal-API endpoint that returns a constant, as the baseline; (2) the gateway's
/// <c>POST /api/v1/tso</c>; (3) 1000 in-process callers of a <see cref="TimestampAllocator"/> that batches over
/// HTTP to the gateway. Both servers are child processes; the gateway is the Release build of Milvus.Api.
/// Usage: <c>dotnet run -c Release --project Milvus.Benchmarks -- tso-http [seconds] [concurrency]</c>.
/// </summary>
public static class TsoHttpLoad
{
    private const string Body = "{\"count\":1}";

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32;
        var duration = TimeSpan.FromSeconds(seconds);
        var dataDir = Directory.CreateTempSubdirectory("milvus-bench-").FullName;
        try
        {
            using var bare = await ChildServer.StartAsync("bare", BareServerCommand());
            using var gateway = await ChildServer.StartAsync("gateway", ChildCommand.Gateway(dataDir));

            // The machine is shared, so the targets take turns in short rounds and see the same background load.
            const int rounds = 5;
            var slice = duration / rounds;
            var bareRuns = new List<LoadResult>();
            var tsoRuns = new List<LoadResult>();
            var batchedRuns = new List<LoadResult>();
            var cachedRuns = CachedVariants.Select(_ => new List<LoadResult>()).ToList();
            for (var round = 0; round < rounds; round++)
            {
                bareRuns.Add(await DriveAsync(bare.Url + "/api/v1/tso", concurrency, slice));
                tsoRuns.Add(await DriveAsync(gateway.Url + "/api/v1/tso", concurrency, slice));
                batchedRuns.Add(await DriveAllocatorAsync(gateway.Url, callers: 1000, slice, prefetch: 1));
                for (var v = 0; v < CachedVariants.Length; v++)
                {
                    var (prefetch, refillBelow) = CachedVariants[v];
                    cachedRuns[v].Add(await DriveAllocatorAsync(gateway.Url, callers: 1000, slice, prefetch, refillBelow));
                }
            }
            var bareResult = LoadResult.Merge(bareRuns, duration);
            var tsoResult = LoadResult.Merge(tsoRuns, duration);
            var batched = LoadResult.Merge(batchedRuns, duration);
            var cached = cachedRuns.Select(runs => LoadResult.Merge(runs, duration)).ToList();

            Console.WriteLine($"HTTP load, {rounds} interleaved rounds, {seconds} s per target, {concurrency} connections, {Environment.ProcessorCount} cores");
            Console.WriteLine($"bare constant endpoint     : {bareResult}");
            Console.WriteLine($"POST /api/v1/tso           : {tsoResult}   ratio to bare {tsoResult.PerSecond / bareResult.PerSecond:0.00}");
            Console.WriteLine($"TimestampAllocator (1000)  : {batched}   ratio to bare {batched.PerSecond / bareResult.PerSecond:0.00}");
            for (var v = 0; v < CachedVariants.Length; v++)
            {
                var (prefetch, refillBelow) = CachedVariants[v];
                Console.WriteLine($"  cache {prefetch,5}, refill below {refillBelow,5} : {cached[v]}   ratio to bare {cached[v].PerSecond / bareResult.PerSecond:0.00}");
            }
            return 0;
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>The baseline server: one POST route that returns a constant body the shape of the TSO's.</summary>
    public static async Task<int> RunBareServerAsync(string url)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls(url);
        var app = builder.Build();
        var constant = new TimestampResponse(1, 1, 0, 1);
        app.MapPost("/api/v1/tso", () => constant);
        app.MapGet("/health/live", () => "ok");
        await app.RunAsync();
        return 0;
    }

    private static async Task<LoadResult> DriveAsync(string url, int concurrency, TimeSpan duration)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency });
        var stop = Stopwatch.StartNew();
        var warmUntil = TimeSpan.FromSeconds(1);
        var end = warmUntil + duration;
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            var latencies = new List<long>(1 << 16);
            while (stop.Elapsed < end)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await http.PostAsync(url, new StringContent(Body, Encoding.UTF8, "application/json"));
                await response.Content.ReadAsByteArrayAsync();
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"{url} answered {(int)response.StatusCode}.");
                }
                if (stop.Elapsed > warmUntil)
                {
                    latencies.Add(Stopwatch.GetTimestamp() - started);
                }
            }
            return latencies;
        })).ToList();
        var all = (await Task.WhenAll(workers)).SelectMany(l => l).ToList();
        return LoadResult.From(all, duration);
    }

    /// <summary>
    /// The batch the cached variant fetches at once: a few milliseconds' worth at this rate, handed out only while
    /// fresh (50 ms), as Milvus's own client allocator does. The other variant fetches exactly what callers wait for.
    /// </summary>
    private static readonly (uint Prefetch, uint RefillBelow)[] CachedVariants = [(4096, 1024), (4096, 2048), (8192, 4096)];

    private static async Task<LoadResult> DriveAllocatorAsync(string baseUrl, int callers, TimeSpan duration, uint prefetch, uint? refillBelow = null)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 4 }) { BaseAddress = new Uri(baseUrl + "/") };
        await using var allocator = new TimestampAllocator(new GatewayAllocationClient(http), TimeProvider.System, prefetch: prefetch, refillBelow: refillBelow);
        allocator.Start();
        var stop = Stopwatch.StartNew();
        var warmUntil = TimeSpan.FromSeconds(1);
        var end = warmUntil + duration;
        var workers = Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            var latencies = new List<long>(1 << 12);
            var last = 0UL;
            while (stop.Elapsed < end)
            {
                var started = Stopwatch.GetTimestamp();
                var ts = await allocator.AllocOneAsync();
                if (ts.Value <= last)
                {
                    throw new InvalidOperationException("A caller saw a timestamp that did not increase.");
                }
                last = ts.Value;
                if (stop.Elapsed > warmUntil)
                {
                    latencies.Add(Stopwatch.GetTimestamp() - started);
                }
            }
            return latencies;
        })).ToList();
        var all = (await Task.WhenAll(workers)).SelectMany(l => l).ToList();
        return LoadResult.From(all, duration) with { Fetches = allocator.FetchCount };
    }

    private static ChildCommand BareServerCommand() =>
        new(typeof(TsoHttpLoad).Assembly.Location, ["bare-server", "{url}"], []);

    /// <summary>Throughput and latency of one run, or of several merged.</summary>
    private sealed record LoadResult(List<long> LatencyTicks, TimeSpan Duration)
    {
        public long? Fetches { get; init; }

        public double PerSecond => LatencyTicks.Count / Duration.TotalSeconds;

        public static LoadResult From(List<long> latencyTicks, TimeSpan duration) => new(latencyTicks, duration);

        public static LoadResult Merge(IReadOnlyList<LoadResult> runs, TimeSpan duration) =>
            new(runs.SelectMany(r => r.LatencyTicks).ToList(), duration) { Fetches = runs.Sum(r => r.Fetches ?? 0) is > 0 and var f ? f : null };

        public override string ToString()
        {
            var sorted = LatencyTicks.Order().ToList();
            double Ms(double q) => sorted.Count == 0 ? 0 : sorted[(int)Math.Min(sorted.Count - 1, q * sorted.Count)] * 1000.0 / Stopwatch.Frequency;
            return $"{PerSecond,12:N0}/s  p50 {Ms(0.50):0.00} ms  p99 {Ms(0.99):0.00} ms  ({sorted.Count:N0} ops{(Fetches is { } f ? $", {f:N0} HTTP fetches" : "")})";
        }
    }
}
