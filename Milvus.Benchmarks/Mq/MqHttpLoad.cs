using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Milvus.Benchmarks.Http;

namespace Milvus.Benchmarks.Mq;

/// <summary>
/// RocksMQ over HTTP. Part 1, throughput: closed-loop producers post batches of 1000 × 1 KiB to
/// <c>POST /api/v1/channels/{c}/messages</c> on the gateway (the Release build of Milvus.Api as a child process),
/// in turns with the same producers calling an in-process RocksMQ with the same batches, so that both see the same
/// background load; the ratio is HTTP MB/s ÷ in-process MB/s. Part 2, memory: a fresh gateway takes
/// <c>messages</c> 1 KiB messages from the producers while a consumer reads them back over HTTP, and the gateway's
/// peak resident set (VmHWM in /proc/&lt;pid&gt;/status) is reported next to its resident set when idle.
/// Usage: <c>dotnet run -c Release --project Milvus.Benchmarks -- mq-http [seconds] [producers] [messages]</c>.
/// </summary>
public static class MqHttpLoad
{
    private const int BatchSize = 1000;
    private const int PayloadSize = 1024;
    private const double MegaByte = 1024 * 1024;

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var producers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 4;
        var flowMessages = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1_000_000;
        var payloads = RocksMqBench.Payloads(BatchSize, PayloadSize);
        var body = JsonSerializer.SerializeToUtf8Bytes(new { messages = payloads.Select(p => new { payload = p.ToArray() }) });
        var batchBytes = (double)BatchSize * PayloadSize;

        var dataDir = Directory.CreateTempSubdirectory("milvus-bench-").FullName;
        try
        {
            // Part 1: throughput, in interleaved rounds.
            using (var gateway = await ChildServer.StartAsync("gateway", ChildCommand.Gateway(Path.Combine(dataDir, "throughput"))))
            using (var http = NewClient(gateway.Url, producers))
            using (var bench = new RocksMqBench())
            {
                await CreateChannelAsync(http, "load");
                await bench.CreateChannelAsync("load");
                const int rounds = 5;
                var slice = TimeSpan.FromSeconds(seconds) / rounds;
                long httpBatches = 0, localBatches = 0;
                var httpTime = TimeSpan.Zero;
                var localTime = TimeSpan.Zero;
                for (var round = 0; round < rounds; round++)
                {
                    var (n, t) = await DriveAsync(producers, slice, () => bench.Mq.ProduceAsync("load", payloads));
                    localBatches += n;
                    localTime += t;
                    (n, t) = await DriveAsync(producers, slice, () => PostAsync(http, "load", body));
                    httpBatches += n;
                    httpTime += t;
                }
                var local = localBatches * batchBytes / MegaByte / localTime.TotalSeconds;
                var overHttp = httpBatches * batchBytes / MegaByte / httpTime.TotalSeconds;
                Console.WriteLine($"Produce, batches of {BatchSize} × {PayloadSize} B, {producers} producers, {rounds} interleaved rounds of {slice.TotalSeconds:0.#} s each, {Environment.ProcessorCount} cores");
                Console.WriteLine($"in-process RocksMQ (baseline) : {local,8:0.0} MB/s  ({localBatches:N0} batches)");
                Console.WriteLine($"over HTTP                     : {overHttp,8:0.0} MB/s  ({httpBatches:N0} batches)   ratio to in-process {overHttp / local:0.00}");
            }

            // Part 2: memory while messages flow through a fresh gateway.
            using (var gateway = await ChildServer.StartAsync("gateway", ChildCommand.Gateway(Path.Combine(dataDir, "memory"))))
            using (var http = NewClient(gateway.Url, producers + 1))
            {
                await CreateChannelAsync(http, "flow");
                using (var group = await http.PostAsync("api/v1/channels/flow/groups", Json("{\"groupName\":\"reader\"}")))
                {
                    Ensure(group, HttpStatusCode.Created);
                }
                var idle = ReadStatus(gateway.ProcessId);
                var batches = flowMessages / BatchSize;
                var posted = 0;
                var stopwatch = Stopwatch.StartNew();
                var produce = Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
                {
                    while (Interlocked.Increment(ref posted) <= batches)
                    {
                        await PostAsync(http, "flow", body);
                    }
                })));
                var consume = Task.Run(async () =>
                {
                    var consumed = 0L;
                    while (consumed < (long)batches * BatchSize)
                    {
                        using var response = await http.GetAsync($"api/v1/channels/flow/groups/reader/messages?n={BatchSize}&waitMs=1000");
                        Ensure(response, HttpStatusCode.OK);
                        using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
                        consumed += json.RootElement.GetProperty("messages").GetArrayLength();
                    }
                    return consumed;
                });
                var peakRss = 0L;
                using (var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200)))
                {
                    while (!consume.IsCompleted || !produce.IsCompleted)
                    {
                        peakRss = Math.Max(peakRss, ReadStatus(gateway.ProcessId).RssKb);
                        await timer.WaitForNextTickAsync();
                    }
                }
                await produce;
                var consumedTotal = await consume;
                var done = ReadStatus(gateway.ProcessId);
                Console.WriteLine($"Memory: {consumedTotal:N0} messages of {PayloadSize} B produced and consumed over HTTP in {stopwatch.Elapsed.TotalSeconds:0.0} s ({producers} producers, 1 consumer, n = {BatchSize})");
                Console.WriteLine($"gateway RSS idle before       : {idle.RssKb / 1024.0,8:0.0} MiB");
                Console.WriteLine($"gateway RSS peak (VmHWM)      : {done.HwmKb / 1024.0,8:0.0} MiB   ratio to idle {done.HwmKb / (double)idle.RssKb:0.00}  (highest sampled VmRSS {peakRss / 1024.0:0.0} MiB)");
                Console.WriteLine($"gateway RSS at the end        : {done.RssKb / 1024.0,8:0.0} MiB");
            }
            return 0;
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    internal static HttpClient NewClient(string url, int connections) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = connections }) { BaseAddress = new Uri(url + "/"), Timeout = TimeSpan.FromMinutes(5) };

    internal static async Task CreateChannelAsync(HttpClient http, string channel)
    {
        using var response = await http.PutAsync($"api/v1/channels/{channel}", Json("{}"));
        Ensure(response, HttpStatusCode.Created);
    }

    private static async Task<bool> PostAsync(HttpClient http, string channel, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync($"api/v1/channels/{channel}/messages", content);
        Ensure(response, HttpStatusCode.Created);
        return true;
    }

    /// <summary>Runs <paramref name="producers"/> closed loops of <paramref name="call"/> for a while; returns the calls made and the time taken.</summary>
    internal static async Task<(long Calls, TimeSpan Elapsed)> DriveAsync<T>(int producers, TimeSpan duration, Func<Task<T>> call)
    {
        var calls = 0L;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
        {
            while (stopwatch.Elapsed < duration)
            {
                await call();
                Interlocked.Increment(ref calls);
            }
        })));
        return (calls, stopwatch.Elapsed);
    }

    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    internal static void Ensure(HttpResponseMessage response, HttpStatusCode expected)
    {
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}, not {(int)expected}.");
        }
    }

    /// <summary>VmRSS and VmHWM of a process, in KiB, from /proc/&lt;pid&gt;/status.</summary>
    private static (long RssKb, long HwmKb) ReadStatus(int pid)
    {
        long rss = 0, hwm = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kb(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = Kb(line);
            }
        }
        return (rss, hwm);

        static long Kb(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}
