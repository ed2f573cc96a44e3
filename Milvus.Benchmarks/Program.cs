using BenchmarkDotNet.Running;
using Milvus.Benchmarks.Cluster;
using Milvus.Benchmarks.Mq;
using Milvus.Benchmarks.MsgStream;
using Milvus.Benchmarks.Sessions;
using Milvus.Benchmarks.SideBySide;
using Milvus.Benchmarks.Tso;

// Load drivers: tso-http [seconds] [concurrency]; mq-http [seconds] [producers] [messages]; msgstream-latency [seconds] [intervalMs...];
// msgstream-consume [rounds] [buffer] [rocksmq|redis|nats]; msgstream-produce [rounds] [batch] [rocksmq|redis|nats];
// msgstream-http [seconds] [producers] [batch] [gateway dll...] (one build of the gateway against another);
// side-by-side [seconds] [producers,...] [batches,...] [rounds] (the gateway, nats-server -js and redis-server; scripts/side-by-side.sh);
// rocksmq-mixed [minutes] [producers] [consumers] [n] [payloadBytes] [waitMs] [windowSeconds] [produceRate] [inproc|http] (produce and consume on one channel, rate per window);
// cluster [seconds] [producers] [batch] (three gateways on the etcd and Redis of MILVUS_TEST_ETCD_ENDPOINTS and MILVUS_TEST_REDIS);
// mq-keys [secondsPerRound] [producers] [batch] [rounds] [rocksmq|redis] (produce with and without an idempotency key, in process);
// bare-server URL is the driver's baseline child process.
switch (args)
{
    case ["tso-http", .. var rest]:
        return await TsoHttpLoad.RunAsync(rest);
    case ["mq-http", .. var rest]:
        return await MqHttpLoad.RunAsync(rest);
    case ["bare-server", var url]:
        return await TsoHttpLoad.RunBareServerAsync(url);
    case ["sessions", .. var rest]:
        return await SessionsDriver.RunAsync(rest);
    case ["msgstream-consume", .. var rest]:
        return await MsgStreamRounds.RunConsumeAsync(rest);
    case ["msgstream-produce", .. var rest]:
        return await MsgStreamRounds.RunProduceAsync(rest);
    case ["side-by-side", .. var rest]:
        return await SideBySideDriver.RunAsync(rest);
    case ["msgstream-http", .. var rest]:
        return await MsgStreamHttpLoad.RunAsync(rest);
    case ["msgstream-latency", .. var rest]:
        return await LatencyDriver.RunAsync(rest);
    case ["rocksmq-mixed", .. var rest]:
        return await MixedLoad.RunAsync(rest);
    case ["cluster", .. var rest]:
        return await ClusterDriver.RunAsync(rest);
    case ["mq-keys", .. var rest]:
        return await KeyedProduceLoad.RunAsync(rest);
}

// Run every suite, or pick with --filter: dotnet run -c Release --project Milvus.Benchmarks -- --filter '*Params*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
