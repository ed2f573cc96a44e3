using BenchmarkDotNet.Running;
using Milvus.Benchmarks.Tso;

// Load drivers: tso-http [seconds] [concurrency]; msgstream-latency [seconds] [intervalMs...]; bare-server URL is the driver's baseline child process.
switch (args)
{
    case ["tso-http", .. var rest]:
        return await TsoHttpLoad.RunAsync(rest);
    case ["bare-server", var url]:
        return await TsoHttpLoad.RunBareServerAsync(url);
    case ["msgstream-latency", .. var rest]:
        return await Milvus.Benchmarks.MsgStream.LatencyDriver.RunAsync(rest);
}

// Run every suite, or pick with --filter: dotnet run -c Release --project Milvus.Benchmarks -- --filter '*Params*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
