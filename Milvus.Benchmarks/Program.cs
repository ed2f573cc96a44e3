using BenchmarkDotNet.Running;

// Run every suite, or pick with --filter: dotnet run -c Release --project Milvus.Benchmarks -- --filter '*Params*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
