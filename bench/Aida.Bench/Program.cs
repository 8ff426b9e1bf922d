using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Aida.Bench.TwinStepBenchmarks).Assembly).Run(args);
