using System.Diagnostics;
using System.Globalization;
using Milvus.Domain.Mq;

namespace Milvus.Benchmarks.Mq;

/// <summary>
/// What an idempotency key costs a produce: closed-loop producers call the queue in process with batches of 1 KiB
/// payloads, in interleaved rounds with and without a fresh key (and its fingerprint) on every call, on the same
/// queue; the ratio is keyed msg/s ÷ plain msg/s, the median of the rounds. RocksMQ is a fresh embedded one; Redis
/// is the server that MILVUS_TEST_REDIS names. Usage:
/// <c>dotnet run -c Release --project Milvus.Benchmarks -- mq-keys [secondsPerRound] [producers] [batch] [rounds] [rocksmq|redis]</c>.
/// </summary>
public static class KeyedProduceLoad
{
    private const int PayloadSize = 1024;

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        var producers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;
        var batch = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
        var rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;
        var backend = args.Length > 4 ? args[4] : "rocksmq";
        using var rocks = backend == "rocksmq" ? new RocksMqBench() : null;
        using var redis = backend == "redis" ? new RedisMqBench() : null;
        IMqClient mq = (IMqClient?)rocks?.Mq ?? redis?.Mq ?? throw new ArgumentException($"Unknown backend '{backend}': use rocksmq or redis.");
        await mq.CreateChannelAsync("keys");
        var payloads = RocksMqBench.Payloads(batch, PayloadSize);
        var lifetime = TimeSpan.FromMinutes(10);
        var next = 0L;

        async Task<double> RoundAsync(bool keyed)
        {
            var duration = TimeSpan.FromSeconds(seconds);
            var clock = Stopwatch.StartNew();
            var counts = await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
            {
                var sent = 0L;
                while (clock.Elapsed < duration)
                {
                    if (keyed)
                    {
                        // As a client would send it: a fresh key, and the gateway's fingerprint of the batch.
                        var key = new MqProduceKey($"k-{Interlocked.Increment(ref next)}", MqProduceKey.FingerprintOf(payloads), lifetime);
                        await mq.ProduceAsync("keys", payloads, key);
                    }
                    else
                    {
                        await mq.ProduceAsync("keys", payloads);
                    }
                    sent += payloads.Length;
                }
                return sent;
            })));
            return counts.Sum() / clock.Elapsed.TotalSeconds;
        }

        Console.WriteLine($"Produce with and without an idempotency key, {backend}, in process, batches of {batch} × {PayloadSize} B, {producers} producers, {rounds} interleaved rounds of {seconds:0.#} s, {Environment.ProcessorCount} cores");
        await RoundAsync(keyed: false);
        var plain = new List<double>();
        var keyedRates = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            plain.Add(await RoundAsync(keyed: false));
            keyedRates.Add(await RoundAsync(keyed: true));
            Console.WriteLine($"round {round + 1}: plain {plain[^1]:N0} msg/s, keyed {keyedRates[^1]:N0} msg/s, ratio {keyedRates[^1] / plain[^1]:0.00}");
        }
        var ratios = plain.Zip(keyedRates, (p, k) => k / p).Order().ToList();
        Console.WriteLine($"median: plain {plain.Order().ElementAt(rounds / 2):N0} msg/s, keyed {keyedRates.Order().ElementAt(rounds / 2):N0} msg/s, keyed/plain {ratios[rounds / 2]:0.00}");
        await mq.DestroyChannelAsync("keys");
        return 0;
    }
}
