using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Milvus.Benchmarks.Http;
using Milvus.Benchmarks.Mq;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using StackExchange.Redis;

namespace Milvus.Benchmarks.SideBySide;

/// <summary>
/// Produce through the gateway next to NATS JetStream and Redis Streams, in one run on one machine (issue 20 and
/// issue 22): the Release gateway on embedded RocksMQ (<c>POST /api/v1/channels/{c}/messages</c>), <c>nats-server -js</c>
/// with a file-stored stream (one JetStream publish per msg, a batch awaits all its acks), <c>redis-server</c> with
/// AOF everysec (one pipelined <c>XADD</c> per msg, a batch awaits all its replies), and a second gateway with
/// <c>Milvus:Mq:Backend=redis</c> on that same redis-server and a third with <c>Milvus:Mq:Backend=nats</c> on that same
/// nats-server (issue 21), each a child process on a free loopback port. For each batch size and number of closed-loop producers, the targets take turns in interleaved rounds;
/// the table gives msg/s, the p50 and p99 of one call (a batch acknowledged whole) and each server's CPU per msg from
/// /proc. Between rounds every target's channel is emptied, untimed. Payloads are 1 KiB.
/// Usage: <c>side-by-side [seconds per turn] [producers, comma-separated] [batches, comma-separated] [rounds]</c>;
/// <c>scripts/side-by-side.sh</c> installs the servers from Debian's packages and runs it.
/// </summary>
public static class SideBySideDriver
{
    private const int PayloadSize = 1024;
    private const string Channel = "load";

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        int[] producers = args.Length > 1 ? [.. args[1].Split(',').Select(int.Parse)] : [1, 8];
        int[] batches = args.Length > 2 ? [.. args[2].Split(',').Select(int.Parse)] : [1, 100, 1000];
        var rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;
        var payload = RocksMqBench.Payloads(1, PayloadSize)[0].ToArray();
        var dir = Directory.CreateTempSubdirectory("milvus-side-").FullName;
        var targets = new List<ITarget>();
        try
        {
            targets.Add(await GatewayTarget.StartAsync("gateway", Path.Combine(dir, "gateway"), payload, producers.Max(), null));
            var nats = await NatsTarget.StartAsync(Path.Combine(dir, "nats"), payload);
            targets.Add(nats);
            var redis = await RedisTarget.StartAsync(Path.Combine(dir, "redis"), payload);
            targets.Add(redis);
            // The gateway again, on Redis Streams in the same redis-server as the raw XADDs (issue 22).
            targets.Add(await GatewayTarget.StartAsync("gateway on Redis", Path.Combine(dir, "gateway-redis"), payload, producers.Max(), new Dictionary<string, string>
            {
                ["Milvus:Mq:Backend"] = "redis",
                ["Milvus:Redis:Configuration"] = $"127.0.0.1:{redis.Port}",
                ["Milvus:Etcd:RootPath"] = "side-by-side",
            }));
            // And on NATS JetStream, in the same nats-server as the raw publishes (issue 21).
            targets.Add(await GatewayTarget.StartAsync("gateway on NATS", Path.Combine(dir, "gateway-nats"), payload, producers.Max(), new Dictionary<string, string>
            {
                ["Milvus:Mq:Backend"] = "nats",
                ["Milvus:Nats:Url"] = $"nats://127.0.0.1:{nats.Port}",
            }));
            Console.WriteLine($"Produce side by side, {PayloadSize} B msgs, {rounds} interleaved rounds of {seconds:0.#} s per target, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            Console.WriteLine($"| batch | producers | {string.Join(" | ", targets.Select(t => $"{t.Name} msg/s"))} | gateway ÷ NATS | gateway ÷ Redis | gateway on Redis ÷ Redis | gateway on NATS ÷ NATS | {string.Join(" | ", targets.Select(t => $"{t.Name} p50 / p99 ms"))} | {string.Join(" | ", targets.Select(t => $"{t.Name} CPU µs/msg"))} |");
            Console.WriteLine($"| ---: | ---: |{string.Concat(Enumerable.Repeat(" ---: |", targets.Count * 3 + 4))}");
            foreach (var batch in batches)
            {
                foreach (var p in producers)
                {
                    var results = targets.ToDictionary(t => t, _ => new Cell());
                    for (var round = 0; round < rounds; round++)
                    {
                        foreach (var target in targets)
                        {
                            await MeasureAsync(target, batch, p, TimeSpan.FromSeconds(seconds), results[target]);
                            await target.ResetAsync();
                        }
                    }
                    var rates = targets.Select(t => results[t].Rate).ToList();
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {batch} | {p} | {string.Join(" | ", rates.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} | {rates[0] / rates[1]:0.00} | {rates[0] / rates[2]:0.00} | {rates[3] / rates[2]:0.00} | {rates[4] / rates[1]:0.00} | " +
                        $"{string.Join(" | ", targets.Select(t => $"{results[t].Percentile(0.50):0.00} / {results[t].Percentile(0.99):0.00}"))} | " +
                        $"{string.Join(" | ", targets.Select(t => $"{results[t].CpuMicrosPerMsg:0.0}"))} |"));
                }
            }
            return 0;
        }
        finally
        {
            foreach (var target in targets)
            {
                await target.DisposeAsync();
            }
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task MeasureAsync(ITarget target, int batch, int producers, TimeSpan duration, Cell cell)
    {
        var latencies = new List<double>[producers];
        var cpuBefore = ExternalServer.CpuTime(target.ProcessId);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, producers).Select(i => Task.Run(async () =>
        {
            var own = latencies[i] = [];
            while (clock.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                await target.ProduceAsync(batch);
                own.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        })));
        var elapsed = clock.Elapsed;
        var cpu = ExternalServer.CpuTime(target.ProcessId) - cpuBefore;
        var calls = latencies.Sum(l => l.Count);
        cell.Add(calls * (long)batch, elapsed, cpu, latencies.SelectMany(l => l));
    }

    /// <summary>What one target did in one cell of the table, over its rounds.</summary>
    private sealed class Cell
    {
        private readonly List<double> _latencies = [];
        private long _msgs;
        private TimeSpan _time;
        private TimeSpan _cpu;

        public double Rate => _msgs / _time.TotalSeconds;

        public double CpuMicrosPerMsg => _cpu.TotalMicroseconds / _msgs;

        public void Add(long msgs, TimeSpan time, TimeSpan cpu, IEnumerable<double> latencies)
        {
            _msgs += msgs;
            _time += time;
            _cpu += cpu;
            _latencies.AddRange(latencies);
        }

        public double Percentile(double q)
        {
            var sorted = _latencies.Order().ToList();
            return sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
        }
    }

    private interface ITarget : IAsyncDisposable
    {
        string Name { get; }

        int ProcessId { get; }

        Task ProduceAsync(int batch);

        Task ResetAsync();
    }

    /// <summary>The Release gateway on embedded RocksMQ, produce over HTTP at the message-queue level.</summary>
    private sealed class GatewayTarget(string name, ChildServer server, HttpClient http, byte[] payload) : ITarget
    {
        private readonly Dictionary<int, byte[]> _bodies = [];

        public string Name => name;

        public int ProcessId => server.ProcessId;

        public static async Task<GatewayTarget> StartAsync(string name, string dataDir, byte[] payload, int connections, IReadOnlyDictionary<string, string>? settings)
        {
            var server = await ChildServer.StartAsync(name, ChildCommand.Gateway(dataDir, settings: settings));
            var target = new GatewayTarget(name, server, MqHttpLoad.NewClient(server.Url, connections), payload);
            await MqHttpLoad.CreateChannelAsync(target.Http, Channel);
            return target;
        }

        private HttpClient Http => http;

        public async Task ProduceAsync(int batch)
        {
            byte[]? body;
            lock (_bodies)
            {
                if (!_bodies.TryGetValue(batch, out body))
                {
                    _bodies[batch] = body = JsonSerializer.SerializeToUtf8Bytes(new { messages = Enumerable.Repeat(new { payload }, batch) });
                }
            }
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync($"api/v1/channels/{Channel}/messages", content);
            MqHttpLoad.Ensure(response, HttpStatusCode.Created);
        }

        public async Task ResetAsync()
        {
            using var destroyed = await http.PostAsync("api/v1/channels/destroy", JsonContent.Create(new { channelNames = new[] { Channel } }));
            MqHttpLoad.Ensure(destroyed, HttpStatusCode.NoContent);
            await MqHttpLoad.CreateChannelAsync(http, Channel);
        }

        public ValueTask DisposeAsync()
        {
            http.Dispose();
            server.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>nats-server with JetStream, a file-stored stream, one publish per msg with its ack.</summary>
    private sealed class NatsTarget(ExternalServer server, NatsConnection connection, NatsJSContext js, byte[] payload) : ITarget
    {
        private const string Stream = "LOAD";

        public string Name => "NATS";

        public int Port => server.Port;

        public int ProcessId => server.ProcessId;

        public static async Task<NatsTarget> StartAsync(string storeDir, byte[] payload)
        {
            var server = await ExternalServer.StartAsync("nats-server", ["-js", "-a", "127.0.0.1", "-p", "{port}", "-sd", storeDir]);
            var connection = new NatsConnection(new NatsOpts { Url = $"nats://127.0.0.1:{server.Port}" });
            await connection.ConnectAsync();
            var js = new NatsJSContext(connection);
            await js.CreateStreamAsync(new StreamConfig(Stream, [Channel]) { Storage = StreamConfigStorage.File });
            return new NatsTarget(server, connection, js, payload);
        }

        public async Task ProduceAsync(int batch)
        {
            var acks = new Task<PubAckResponse>[batch];
            for (var i = 0; i < batch; i++)
            {
                acks[i] = js.PublishAsync(Channel, payload).AsTask();
            }
            foreach (var ack in await Task.WhenAll(acks))
            {
                ack.EnsureSuccess();
            }
        }

        public async Task ResetAsync() => await js.PurgeStreamAsync(Stream, new StreamPurgeRequest());

        public async ValueTask DisposeAsync()
        {
            await connection.DisposeAsync();
            server.Dispose();
        }
    }

    /// <summary>redis-server with AOF everysec, one pipelined XADD per msg.</summary>
    private sealed class RedisTarget(ExternalServer server, ConnectionMultiplexer redis, byte[] payload) : ITarget
    {
        public string Name => "Redis";

        public int ProcessId => server.ProcessId;

        public int Port => server.Port;

        public static async Task<RedisTarget> StartAsync(string dataDir, byte[] payload)
        {
            Directory.CreateDirectory(dataDir);
            var server = await ExternalServer.StartAsync("redis-server",
                ["--port", "{port}", "--bind", "127.0.0.1", "--dir", dataDir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]);
            var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}");
            return new RedisTarget(server, redis, payload);
        }

        public async Task ProduceAsync(int batch)
        {
            var db = redis.GetDatabase();
            var adds = new Task<RedisValue>[batch];
            for (var i = 0; i < batch; i++)
            {
                adds[i] = db.StreamAddAsync(Channel, "p", payload);
            }
            await Task.WhenAll(adds);
        }

        public Task ResetAsync() => redis.GetDatabase().KeyDeleteAsync(Channel);

        public async ValueTask DisposeAsync()
        {
            await redis.DisposeAsync();
            server.Dispose();
        }
    }
}
