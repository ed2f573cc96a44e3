using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Milvus.Benchmarks.Http;
using Milvus.Benchmarks.Mq;

namespace Milvus.Benchmarks.MsgStream;

/// <summary>
/// Msgstream produce over HTTP, one build of the gateway against another: closed-loop producers post batches of 1 KiB
/// payload msgs (msg type Search, no timestamps, so each call takes a TSO range) to <c>POST /api/v1/msgstream/produce</c>
/// on each gateway in turn, in interleaved rounds, so that both see the same background load. The first gateway is
/// the baseline; the others are given as ratios to it. Each gateway runs as a child process on its own data directory.
/// Usage: <c>msgstream-http [seconds] [producers] [batch] [gateway dll...]</c>; without dlls it measures this
/// repository's Release build against itself (a check of the noise).
/// </summary>
public static class MsgStreamHttpLoad
{
    private const int PayloadSize = 1024;
    private const int Rounds = 5;

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var producers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;
        var batch = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
        var dlls = args.Length > 3 ? args[3..].Select(a => (string?)a).ToArray() : new string?[2];
        var payload = Convert.ToBase64String(RocksMqBench.Payloads(1, PayloadSize)[0].ToArray());
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            channels = new[] { "load" },
            msgs = Enumerable.Range(0, batch).Select(i => new { msgType = "Search", hashKeys = new[] { (uint)i }, payload }),
        });

        var dataDir = Directory.CreateTempSubdirectory("milvus-bench-").FullName;
        var gateways = new List<(ChildServer Server, HttpClient Http)>();
        try
        {
            for (var i = 0; i < dlls.Length; i++)
            {
                var server = await ChildServer.StartAsync($"gateway-{i}", ChildCommand.Gateway(Path.Combine(dataDir, $"g{i}"), dlls[i]));
                var http = MqHttpLoad.NewClient(server.Url, producers);
                gateways.Add((server, http));
                await MqHttpLoad.CreateChannelAsync(http, "load");
            }
            var slice = TimeSpan.FromSeconds(seconds) / Rounds;
            var calls = new long[gateways.Count];
            var time = new TimeSpan[gateways.Count];
            for (var round = 0; round < Rounds; round++)
            {
                for (var i = 0; i < gateways.Count; i++)
                {
                    var http = gateways[i].Http;
                    var (n, t) = await MqHttpLoad.DriveAsync(producers, slice, () => PostAsync(http, body));
                    calls[i] += n;
                    time[i] += t;
                }
            }
            Console.WriteLine($"Msgstream produce over HTTP, batches of {batch} × {PayloadSize} B, {producers} producers, {Rounds} interleaved rounds of {slice.TotalSeconds:0.#} s each, {Environment.ProcessorCount} cores");
            var baseline = calls[0] * batch / time[0].TotalSeconds;
            for (var i = 0; i < gateways.Count; i++)
            {
                var rate = calls[i] * batch / time[i].TotalSeconds;
                Console.WriteLine($"gateway {i} ({dlls[i] ?? "this repository"}): {rate,10:N0} msgs/s  ratio to gateway 0 {rate / baseline:0.00}");
            }
            return 0;
        }
        finally
        {
            foreach (var (server, http) in gateways)
            {
                http.Dispose();
                server.Dispose();
            }
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static async Task<bool> PostAsync(HttpClient http, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync("api/v1/msgstream/produce", content);
        MqHttpLoad.Ensure(response, HttpStatusCode.OK);
        return true;
    }
}
