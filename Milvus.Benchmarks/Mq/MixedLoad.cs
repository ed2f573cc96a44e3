using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Milvus.Benchmarks.Http;
using Milvus.Domain.Mq;
using Milvus.Domain.Mq.RocksMq;

namespace Milvus.Benchmarks.Mq;

/// <summary>
/// Issue 23's mixed load: closed-loop producers of single msgs and closed-loop consumers of one group (n msgs a
/// call, waiting up to waitMs for a first one) on one channel at once, in process on a RocksMQ or over HTTP on the
/// Release gateway as a child process (embedded RocksMQ). Every window prints each side's calls a second, mean
/// latency and p99, the lag, the CPU per request (the driver's process in process, the gateway's over HTTP, which
/// the machine's other load disturbs less than a rate) and, in process, a few RocksDB properties; the end compares
/// the first three windows with the last three. A produce rate above 0 caps the producers together at that many
/// msgs a second. <c>MILVUS_MIXED_DIR</c> keeps the data, so that a second run reads the same channel after a restart.
/// Usage: <c>dotnet run -c Release --project Milvus.Benchmarks -- rocksmq-mixed [minutes=10] [producers=4]
/// [consumers=4] [n=1] [payloadBytes=128] [waitMs=100] [windowSeconds=10] [produceRate=0] [inproc|http]</c>.
/// </summary>
public static class MixedLoad
{
    private const string Channel = "mixed";
    private const string Group = "g";

    public static async Task<int> RunAsync(string[] args)
    {
        var minutes = Arg(args, 0, 10.0);
        var producers = (int)Arg(args, 1, 4);
        var consumers = (int)Arg(args, 2, 4);
        var n = (int)Arg(args, 3, 1);
        var payloadBytes = (int)Arg(args, 4, 128);
        var wait = TimeSpan.FromMilliseconds(Arg(args, 5, 100));
        var window = TimeSpan.FromSeconds(Arg(args, 6, 10));
        var rate = Arg(args, 7, 0);
        var overHttp = args.Length > 8 && args[8] == "http";

        var kept = Environment.GetEnvironmentVariable("MILVUS_MIXED_DIR");
        var root = kept ?? Directory.CreateTempSubdirectory("milvus-mixed-").FullName;
        using var database = new RocksMqDatabase();
        ChildServer? gateway = null;
        HttpClient? http = null;
        try
        {
            Func<IReadOnlyList<ReadOnlyMemory<byte>>, Task> produce;
            Func<Task<int>> consume;
            Func<string, string, string> property = (_, _) => "-";
            Func<TimeSpan> cpu = () => Process.GetCurrentProcess().TotalProcessorTime;
            if (overHttp)
            {
                gateway = await ChildServer.StartAsync("gateway", ChildCommand.Gateway(Path.Combine(root, "gateway")));
                http = MqHttpLoad.NewClient(gateway.Url, producers + consumers);
                var pid = gateway.ProcessId;
                cpu = () => GatewayCpu(pid);
                using (var channel = await http.PutAsync($"api/v1/channels/{Channel}", new StringContent("{}", System.Text.Encoding.UTF8, "application/json")))
                {
                    MqHttpLoad.Ensure(channel, channel.StatusCode == HttpStatusCode.Conflict && kept is not null ? HttpStatusCode.Conflict : HttpStatusCode.Created);
                }
                using (var created = await http.PostAsync($"api/v1/channels/{Channel}/groups", new StringContent($"{{\"groupName\":\"{Group}\"}}", System.Text.Encoding.UTF8, "application/json")))
                {
                    MqHttpLoad.Ensure(created, created.StatusCode == HttpStatusCode.Conflict && kept is not null ? HttpStatusCode.Conflict : HttpStatusCode.Created);
                }
                var body = JsonSerializer.SerializeToUtf8Bytes(new { messages = new[] { new { payload = RocksMqBench.Payloads(1, payloadBytes)[0].ToArray() } } });
                var consumeUri = $"api/v1/channels/{Channel}/groups/{Group}/messages?n={n}&waitMs={(int)wait.TotalMilliseconds}";
                produce = async _ =>
                {
                    using var content = new ByteArrayContent(body);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    using var response = await http.PostAsync($"api/v1/channels/{Channel}/messages", content);
                    MqHttpLoad.Ensure(response, HttpStatusCode.Created);
                };
                consume = async () =>
                {
                    using var response = await http.GetAsync(consumeUri);
                    MqHttpLoad.Ensure(response, HttpStatusCode.OK);
                    using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
                    return json.RootElement.GetProperty("messages").GetArrayLength();
                };
            }
            else
            {
                database.Open(Path.Combine(root, "rocksmq"), syncWrites: false);
                var mq = new RocksMq(database, new RocksMqIdAllocator(database), Options.Create(new RocksMqOptions()), TimeProvider.System, NullLogger<RocksMq>.Instance);
                mq.Load();
                if (!await mq.ChannelExistsAsync(Channel))
                {
                    await mq.CreateChannelAsync(Channel);
                    await mq.CreateConsumerGroupAsync(Channel, Group, MqStartPosition.Earliest);
                }
                produce = payloads => mq.ProduceAsync(Channel, payloads);
                consume = async () => (await mq.ConsumeAsync(Channel, Group, n, wait)).Count;
                property = (family, name) => database.Db.GetProperty(name, family == "data" ? database.Data : database.Meta) ?? "?";
            }
            var payload = RocksMqBench.Payloads(1, payloadBytes)[0];
            IReadOnlyList<ReadOnlyMemory<byte>> batch = [payload];

            Console.WriteLine($"rocksmq-mixed ({(overHttp ? "over HTTP" : "in process")}): {minutes} min, {producers} producers of 1 msg × {payloadBytes} B, {consumers} consumers of n = {n} (wait {wait.TotalMilliseconds} ms), produce rate {(rate > 0 ? rate.ToString(CultureInfo.InvariantCulture) + " msg/s" : "uncapped")}, one channel, one group, {Environment.ProcessorCount} cores");
            Console.WriteLine("   t s | produce/s | consume/s | msgs out/s | empty/s |    lag | prod mean µs / p99 ms | cons mean µs / p99 ms | CPU µs/req | data keys | meta memtable entries | meta L0 files");
            var produced = new Side();
            var consumed = new Side();
            long msgsOut = 0, empties = 0;
            var stopwatch = Stopwatch.StartNew();
            var duration = TimeSpan.FromMinutes(minutes);
            using var stop = new CancellationTokenSource();
            var tasks = new List<Task>();
            for (var i = 0; i < producers; i++)
            {
                tasks.Add(Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        while (rate > 0 && produced.Count >= rate * stopwatch.Elapsed.TotalSeconds)
                        {
                            await Task.Delay(1);
                        }
                        var started = Stopwatch.GetTimestamp();
                        await produce(batch);
                        produced.Record(Stopwatch.GetElapsedTime(started));
                    }
                }));
            }
            for (var i = 0; i < consumers; i++)
            {
                tasks.Add(Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        var started = Stopwatch.GetTimestamp();
                        var count = await consume();
                        consumed.Record(Stopwatch.GetElapsedTime(started));
                        Interlocked.Add(ref msgsOut, count);
                        if (count == 0)
                        {
                            Interlocked.Increment(ref empties);
                        }
                    }
                }));
            }
            var first = new List<double>();
            var last = new List<double>();
            using (var timer = new PeriodicTimer(window))
            {
                long lastOut = 0, lastEmpty = 0;
                var lastCpu = cpu();
                while (stopwatch.Elapsed < duration && await timer.WaitForNextTickAsync())
                {
                    var (pCalls, pP99, pMean) = produced.Take();
                    var (cCalls, cP99, cMean) = consumed.Take();
                    var cpuNow = cpu();
                    var cpuPerRequest = (cpuNow - lastCpu).TotalMicroseconds / Math.Max(1, pCalls + cCalls);
                    lastCpu = cpuNow;
                    var outNow = Interlocked.Read(ref msgsOut);
                    var emptyNow = Interlocked.Read(ref empties);
                    var seconds = window.TotalSeconds;
                    var requests = (pCalls + cCalls) / seconds;
                    (first.Count < 3 ? first : last).Add(requests);
                    if (last.Count > 3)
                    {
                        last.RemoveAt(0);
                    }
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{stopwatch.Elapsed.TotalSeconds,6:0} | {pCalls / seconds,9:N0} | {cCalls / seconds,9:N0} | {(outNow - lastOut) / seconds,10:N0} | {(emptyNow - lastEmpty) / seconds,7:N0} | {produced.Count - outNow,6} | {pMean * 1000,7:0} / {pP99,6:0.00} | {cMean * 1000,7:0} / {cP99,6:0.00} | {cpuPerRequest,7:0.0} | {property("data", "rocksdb.estimate-num-keys"),9} | {property("meta", "rocksdb.num-entries-active-mem-table"),21} | {property("meta", "rocksdb.num-files-at-level0"),13}"));
                    lastOut = outNow;
                    lastEmpty = emptyNow;
                }
            }
            await stop.CancelAsync();
            await Task.WhenAll(tasks);
            if (last.Count > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"requests/s: first three windows {first.Average():N0}, last three {last.Average():N0}, ratio last ÷ first {last.Average() / first.Average():0.00}"));
            }
            if (!overHttp)
            {
                Console.WriteLine(database.Db.GetProperty("rocksdb.stats", database.Meta));
            }
            return 0;
        }
        finally
        {
            http?.Dispose();
            gateway?.Dispose();
            database.Close();
            if (kept is null)
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    /// <summary>The user + system CPU time of a process, from /proc/&lt;pid&gt;/stat (in clock ticks of 10 ms).</summary>
    private static TimeSpan GatewayCpu(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    private static double Arg(string[] args, int index, double fallback) =>
        args.Length > index ? double.Parse(args[index], CultureInfo.InvariantCulture) : fallback;

    /// <summary>Calls and latencies of one side since the last take.</summary>
    private sealed class Side
    {
        private readonly Lock _gate = new();
        private List<double> _ms = [];

        public long Count { get; private set; }

        public void Record(TimeSpan elapsed)
        {
            lock (_gate)
            {
                _ms.Add(elapsed.TotalMilliseconds);
                Count++;
            }
        }

        public (long Calls, double P99, double Mean) Take()
        {
            List<double> taken;
            lock (_gate)
            {
                taken = _ms;
                _ms = [];
            }
            if (taken.Count == 0)
            {
                return (0, 0, 0);
            }
            taken.Sort();
            return (taken.Count, taken[(int)Math.Min(taken.Count - 1, Math.Ceiling(taken.Count * 0.99) - 1)], taken.Average());
        }
    }
}
