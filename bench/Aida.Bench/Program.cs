using Aida.Bench;
using BenchmarkDotNet.Running;

// Tool modes run without BenchmarkDotNet; anything else goes to the benchmark switcher (--filter, --job, ...).
return args.FirstOrDefault() switch
{
    "storage-report" => StorageReport.Run(args[1..], Console.Out),
    "remote-write-load" => await RemoteWriteLoad.RunAsync(args[1..], Console.Out),
    "modbus-poll" => await ModbusPollLoad.RunAsync(args[1..], Console.Out),
    "modbus-serve" => await ModbusPollLoad.ServeAsync(args[1..], Console.Out),
    _ => RunBenchmarks(args),
};

static int RunBenchmarks(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(TwinStepBenchmarks).Assembly).Run(args);
    return 0;
}
