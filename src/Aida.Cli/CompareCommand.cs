using System.Collections.Concurrent;
using System.CommandLine;
using System.Globalization;
using System.Runtime.ExceptionServices;
using Aida.Model.Config;
using Aida.Model.Scenarios;
using Aida.Observability.Derived;
using Aida.Reliability.OpenSlo;
using Aida.Telemetry.Query;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;

namespace Aida.Cli;

/// <summary><c>aida compare</c>: the same scenario under each way of operating, once per seed (and per climate), on the
/// virtual clock; each mode's figures over seeds, the agent's savings seed by seed, <c>compare.json</c> and a
/// self-contained HTML report (docs/compare.md).</summary>
internal static class CompareCommand
{
    private static readonly string[] KnownModes = ["human", "digital", "agent"];

    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var scenario = AidaCommand.ScenarioOption("reference");
        scenario.Required = true;
        scenario.DefaultValueFactory = null;
        var modes = new Option<string>("--modes") { Description = "Comma-separated ways of operating to compare: human, digital, agent", DefaultValueFactory = _ => "human,digital,agent" };
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated seeds; each mode runs once per seed, and savings are taken on the same seed", DefaultValueFactory = _ => "1,2,3" };
        var output = new Option<string>("--out", "-o") { Description = "Directory for compare.json, report.html and each run's summary (DIR/runs/CLIMATE/MODE-seedN/)", Required = true };
        var duration = AidaCommand.DurationOption("Simulated time per run instead of the scenario's");
        var weather = new Option<string?>("--weather") { Description = "EPW file(s), comma-separated, to run instead of the scenario's weather, each as a climate (a path, or a bundled name under weather/)" };
        var climates = new Option<string?>("--climates") { Description = "all: run every bundled climate (weather/*.epw: Phoenix, Chicago, Leesburg, Seattle)" };
        var jobs = new Option<int>("--jobs", "-j") { Description = "Runs at a time (the results do not depend on it)", DefaultValueFactory = _ => 2 };
        var keep = new Option<bool>("--keep-telemetry") { Description = "Keep each run's telemetry store in DIR/runs/.../tsdb for aida query (about 85 MB per simulated day)" };
        var slos = SloPack.Option();
        var command = new Command("compare", "Run a scenario under human, digital and agent operation, once per seed (and climate); tables, compare.json and report.html with the agent's savings")
        {
            scenario, modes, seeds, output, duration, weather, climates, jobs, keep, slos,
        };
        command.SetAction((parse, token) =>
        {
            var modeList = ParseModes(parse.GetValue(modes)!);
            var seedList = ParseSeeds(parse.GetValue(seeds)!);
            var d = AidaCommand.ParseDuration(parse.GetValue(duration), "--duration");
            var parallel = parse.GetValue(jobs) is var j and >= 1 and <= 64 ? j : throw new BadInputException($"--jobs: {parse.GetValue(jobs)} is out of range [1, 64]");
            var s = AidaCommand.LoadScenario(parse.GetValue(scenario)!);
            var weathers = Climates(parse.GetValue(weather), parse.GetValue(climates), s);
            var pack = SloPack.Load(parse.GetValue(slos));
            var dir = parse.GetValue(output)!;
            Directory.CreateDirectory(dir);

            // Runs finish on their own threads: one line at a time.
            var gate = new Lock();
            var report = Run(s, modeList, seedList, d, weathers, pack, new CompareRunOptions(dir, parallel, parse.GetValue(keep), line =>
            {
                lock (gate)
                {
                    stderr.WriteLine(line);
                }
            }), token);
            report.WriteTable(stdout);
            File.WriteAllText(Path.Combine(dir, "compare.json"), report.ToJson());
            File.WriteAllText(Path.Combine(dir, "report.html"), CompareHtml.Write(report));
            stdout.WriteLine($"wrote compare.json and report.html in {dir}");
            return Task.FromResult(AidaCommand.Ok);
        });
        return command;
    }

    /// <summary>Where runs go, how many at a time, and where progress lines go.</summary>
    internal sealed record CompareRunOptions(string Directory, int Jobs, bool KeepTelemetry, Action<string> Progress);

    /// <summary>A climate: its name and the scenario with its weather.</summary>
    internal sealed record Climate(string Name, string Weather, Scenario Scenario);

    /// <summary>Runs every (climate, mode, seed) through <see cref="SimulateCommand.Run"/>, <see cref="CompareRunOptions.Jobs"/>
    /// at a time; each run has its own plant, clock, store and agent, so the results do not depend on the order.</summary>
    internal static CompareReport Run(Scenario scenario, IReadOnlyList<string> modes, IReadOnlyList<int> seeds, TimeSpan? duration,
        IReadOnlyList<Climate> climates, SloSet? pack, CompareRunOptions options, CancellationToken token)
    {
        var plan = (from c in climates from m in modes from seed in seeds select (Climate: c, Mode: m, Seed: seed)).ToList();
        var runs = new CompareRun[plan.Count];
        var done = 0;
        options.Progress(string.Create(CultureInfo.InvariantCulture,
            $"compare: {plan.Count} runs ({climates.Count} climate(s) × {modes.Count} mode(s) × {seeds.Count} seed(s)), {Math.Min(options.Jobs, Math.Max(plan.Count, 1))} at a time"));
        try
        {
            // The agent's runs first (they take several times a baseline's), taken one at a time off the queue, so the
            // jobs finish close together; each result goes to its place in the plan whatever the order.
            var order = Enumerable.Range(0, plan.Count).OrderBy(i => plan[i].Mode == CompareMetrics.Agent ? 0 : 1).ToList();
            var queue = Partitioner.Create(order, EnumerablePartitionerOptions.NoBuffering);
            Parallel.ForEach(queue, new ParallelOptions { MaxDegreeOfParallelism = options.Jobs, CancellationToken = token }, i =>
            {
                var (climate, mode, seed) = plan[i];
                runs[i] = RunOne(climate, mode, seed, duration, pack, options);
                options.Progress($"compare: {Interlocked.Increment(ref done)}/{plan.Count} runs done ({climate.Name}, {mode}, seed {seed})");
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // One line for the first failure, as any verb: bad input stays exit 2, a bug exit 1.
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }

        var results = climates.Select(c => new ClimateComparison(c.Name, c.Weather, modes, seeds, runs.Where(r => r.Climate == c.Name).ToList())).ToList();
        return new CompareReport(scenario.Name, scenario.Factory.Name, runs.Length > 0 ? TimeSpan.FromSeconds(runs[0].Summary.DurationSeconds) : duration ?? scenario.Duration,
            modes, seeds, results);
    }

    private static CompareRun RunOne(Climate climate, string mode, int seed, TimeSpan? duration, SloSet? pack, CompareRunOptions options)
    {
        var dir = Path.Combine(options.Directory, "runs", climate.Name, $"{mode}-seed{seed.ToString(CultureInfo.InvariantCulture)}");
        if (Directory.Exists(dir))
        {
            // An earlier comparison's incidents and audit log would carry into the agent's run; refused while another
            // comparison still writes this run's store.
            Tsdb.DeleteStore(Path.Combine(dir, "tsdb"));
            Directory.Delete(dir, recursive: true);
        }

        Directory.CreateDirectory(dir);
        IReadOnlyList<double> hourly = [];
        var simulation = new SimulationOptions { Mode = AidaCommand.ParseMode(mode, agentAllowed: true), Duration = duration, Seed = seed };
        var (summary, _) = SimulateCommand.Run(climate.Scenario, simulation, dir, keepTelemetry: true, pack, (store, sum) =>
        {
            // PUE per hour of plant time from the run's own meters (energy over energy, ISO/IEC 30134-2), for the report's chart.
            var start = climate.Scenario.Start;
            var metrics = new FacilityMetrics(new EmbeddedQueryEngine(store), climate.Scenario.Factory);
            var series = metrics.PueSeriesAsync(start, start + TimeSpan.FromSeconds(sum.DurationSeconds), TimeSpan.FromHours(1)).GetAwaiter().GetResult();
            hourly = [.. series.Select(p => p.Pue)];
        });
        File.WriteAllText(Path.Combine(dir, "summary.json"), summary.ToJson());
        if (!options.KeepTelemetry)
        {
            Directory.Delete(Path.Combine(dir, "tsdb"), recursive: true);
        }

        return new CompareRun(climate.Name, mode, seed, summary, hourly);
    }

    internal static List<string> ParseModes(string text)
    {
        var list = new List<string>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!KnownModes.Contains(part))
            {
                throw new BadInputException($"--modes: unknown mode '{part}' (expected human, digital or agent)");
            }

            if (list.Contains(part))
            {
                throw new BadInputException($"--modes: '{part}' is given twice");
            }

            list.Add(part);
        }

        return list.Count > 0 ? list : throw new BadInputException("--modes: no mode given");
    }

    /// <summary>As <c>aida eval rca</c> reads them, each seed once (savings pair runs by seed).</summary>
    internal static List<int> ParseSeeds(string text)
    {
        var list = EvalCommand.ParseSeeds(text);
        return list.Distinct().Count() == list.Count ? list : throw new BadInputException($"--seeds: a seed is given twice in '{text}'");
    }

    /// <summary>The climates to run: the scenario's own weather, the EPW files of <c>--weather</c>, or every bundled one.</summary>
    internal static List<Climate> Climates(string? weather, string? climates, Scenario s)
    {
        if (weather is not null && climates is not null)
        {
            throw new BadInputException("--climates: give either --weather or --climates, not both");
        }

        if (climates is not null && climates != "all")
        {
            throw new BadInputException($"--climates: '{climates}' is not known (expected all)");
        }

        IEnumerable<string> files;
        if (climates is not null)
        {
            var folder = BundledFiles.Root is { } root ? Path.Combine(root, "weather") : null;
            files = folder is not null && Directory.Exists(folder)
                ? Directory.GetFiles(folder, "*.epw").Order(StringComparer.Ordinal)
                : throw new BadInputException("--climates: the bundled weather files (weather/*.epw) are not beside the binary; give --weather PATH");
        }
        else if (weather is not null)
        {
            files = weather.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(w =>
            {
                var path = BundledFiles.Resolve(w, "weather");
                return File.Exists(path) ? path : throw new BadInputException($"--weather: no such file '{w}' (nor weather/{w})");
            });
        }
        else
        {
            var own = s.Weather.EpwPath is { } epw ? Path.GetFileName(epw) : "synthetic";
            return [new Climate(Path.GetFileNameWithoutExtension(own), own, s)];
        }

        var list = files.Select(f => new Climate(Path.GetFileNameWithoutExtension(f), Path.GetFileName(f), ScenarioLoader.WithWeatherFile(s, Path.GetFullPath(f)))).ToList();
        if (list.Count == 0)
        {
            throw new BadInputException("--weather: no weather file given");
        }

        return list.DistinctBy(c => c.Name).Count() == list.Count ? list : throw new BadInputException("--weather: a climate is given twice");
    }
}
