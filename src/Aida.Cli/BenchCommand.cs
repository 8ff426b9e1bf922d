using System.CommandLine;
using System.Diagnostics;
using Aida.Twin.Simulation;

namespace Aida.Cli;

/// <summary><c>aida bench twin</c>: how fast the plant simulates, in simulated seconds per wall second.</summary>
internal static class BenchCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var bench = new Command("bench", "Measure Aida's speed");
        var factory = new Option<string>("--factory", "-f")
        {
            Description = "Factory to run: ref-10mw, ref-1gw or a factory file",
            DefaultValueFactory = _ => "ref-10mw",
        };
        var duration = AidaCommand.DurationOption("Simulated time to run (default 1d)");
        var repeat = new Option<int>("--repeat") { Description = "Runs to take the median of", DefaultValueFactory = _ => 3 };
        var twin = new Command("twin", "Run the plant alone (no operator) on a training load and print simulated seconds per wall second")
        {
            factory, duration, repeat,
        };
        twin.SetAction(parse =>
        {
            var d = AidaCommand.ParseDuration(parse.GetValue(duration), "--duration") ?? TimeSpan.FromDays(1);
            var runs = parse.GetValue(repeat);
            if (runs < 1)
            {
                throw new BadInputException("--repeat: must be at least 1");
            }

            var scenario = BenchScenario.For(parse.GetValue(factory)!, d);
            var rates = new List<double>();
            for (var i = 0; i < runs; i++)
            {
                var bar = new ProgressBar(stderr, ProgressBar.IsTerminal, $"run {i + 1}/{runs}");
                var sim = new Simulator(scenario, new SimulationOptions { NoOperator = true, Progress = bar.Report });
                var watch = Stopwatch.StartNew();
                sim.Run();
                watch.Stop();
                var rate = d.TotalSeconds / watch.Elapsed.TotalSeconds;
                rates.Add(rate);
                stdout.WriteLine($"run {i + 1}: {AidaCommand.Format(d.TotalSeconds)} simulated s in {AidaCommand.Format(watch.Elapsed.TotalSeconds, "0.000")} s wall = {AidaCommand.Format(rate, "0")}x real time");
            }

            rates.Sort();
            var median = rates[rates.Count / 2];
            stdout.WriteLine($"{scenario.Factory.Name}: {scenario.Factory.Racks.Count} racks, {scenario.Factory.GpuCount} GPUs, step 1 s");
            stdout.WriteLine($"median: {AidaCommand.Format(median, "0")} simulated seconds per wall second; one simulated day takes {AidaCommand.Format(86400 / median, "0.00")} s");
            return AidaCommand.Ok;
        });
        bench.Subcommands.Add(twin);
        return bench;
    }
}
