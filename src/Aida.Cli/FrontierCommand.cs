using System.CommandLine;
using System.Globalization;
using Aida.Model.Scenarios;
using Aida.Reliability.Frontier;
using Aida.Twin.Simulation;

namespace Aida.Cli;

/// <summary><c>aida frontier</c>: run the twin at each setting of a sweep and chart energy and PUE against the error
/// budget each SLO consumed.</summary>
internal static class FrontierCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var scenario = AidaCommand.ScenarioOption("reference");
        var sweep = new Option<string>("--sweep")
        {
            Description = "PARAM=FROM..TO:STEP, PARAM one of " + string.Join(", ", SweepParameter.All.Select(p => $"{p.Name} ({p.Description}, {p.Unit})")) +
                "; e.g. facility_water_supply=18..34:2",
            Required = true,
        };
        var mode = new Option<string>("--mode", "-m")
        {
            Description = "Who runs the plant at each point: none (the plant's own controls hold the setpoint: integrated " +
                "economiser with chiller trim, BMS changeovers, nobody acting on alarms), human or digital (the baseline " +
                "operator with the swept value as its standing setpoint; its fixes may move it for a while)",
            DefaultValueFactory = _ => "none",
        };
        var duration = AidaCommand.DurationOption("Simulated time per point (default 1d: one diurnal cycle)");
        var seed = AidaCommand.SeedOption();
        var output = new Option<string>("--out", "-o")
        {
            Description = "Directory for frontier.csv, frontier.json, frontier.png and frontier.svg",
            DefaultValueFactory = _ => Path.Combine("out", "frontier"),
        };
        var keep = new Option<bool>("--keep-telemetry") { Description = "Keep each point's telemetry store in DIR/runs/ for aida query" };
        var slos = SloPack.Option();
        var command = new Command("frontier", "Run the twin at each setting of a sweep; table and chart of energy and PUE against error budget consumed per SLO")
        {
            scenario, sweep, mode, duration, seed, output, keep, slos,
        };
        command.SetAction((parse, token) =>
        {
            if (!SweepSpec.TryParse(parse.GetValue(sweep), out var spec, out var problem))
            {
                throw new BadInputException($"--sweep: {problem}");
            }

            var (operating, noOperator) = parse.GetValue(mode) switch
            {
                "none" => (OperatingMode.Human, true),
                var m => (AidaCommand.ParseMode(m!), false),
            };
            var d = AidaCommand.ParseDuration(parse.GetValue(duration), "--duration") ?? TimeSpan.FromDays(1);
            var baseScenario = AidaCommand.LoadScenario(parse.GetValue(scenario)!);
            var pack = SloPack.Load(parse.GetValue(slos));
            var dir = parse.GetValue(output)!;
            Directory.CreateDirectory(dir);
            var points = new List<FrontierPoint>();
            var values = spec!.Values;
            int? runSeed = parse.GetValue(seed);
            foreach (var value in values)
            {
                token.ThrowIfCancellationRequested();
                var label = string.Create(CultureInfo.InvariantCulture, $"{spec.Parameter.Name}={value:0.##}");
                var bar = new ProgressBar(stderr, ProgressBar.IsTerminal, $"frontier {label} ({points.Count + 1}/{values.Count})");
                var s = WithSetpoint(baseScenario, spec.Parameter, value);
                var simulator = new Simulator(s, new SimulationOptions
                {
                    Mode = operating,
                    NoOperator = noOperator,
                    Duration = d,
                    Seed = runSeed,
                    Setpoints = noOperator ? null : Standing(spec.Parameter, value),
                });
                var tsdb = Path.Combine(dir, "runs", label, "tsdb");
                var (summary, _) = TelemetryRun.Run(simulator, tsdb, bar.Report,
                    pack is null ? null : (store, sum) => SloPack.WithSlos(sum, SloPack.Evaluate(pack, store, sum, simulator.Scenario.Start)));
                points.Add(new FrontierPoint(
                    value, summary.ItEnergyKwh, summary.FacilityEnergyKwh, summary.CoolingEnergyKwh, summary.Pue, summary.EconomiserHours,
                    summary.MaxRackInletCelsius, summary.MaxGpuTemperatureCelsius, summary.GpuThrottledSeconds,
                    (summary.Slos ?? []).Select(o => new FrontierSlo(o.Name, o.Objective, o.Attained, o.BudgetConsumed)).ToList()));
                if (!parse.GetValue(keep))
                {
                    Directory.Delete(Path.Combine(dir, "runs", label), recursive: true);
                }
            }

            if (!parse.GetValue(keep) && Directory.Exists(Path.Combine(dir, "runs")) && !Directory.EnumerateFileSystemEntries(Path.Combine(dir, "runs")).Any())
            {
                Directory.Delete(Path.Combine(dir, "runs"));
            }

            var report = new FrontierReport(baseScenario.Name, noOperator ? "none" : operating.ToString().ToLowerInvariant(),
                runSeed ?? baseScenario.Seed, d, spec, points);
            report.WriteTable(stdout);
            File.WriteAllText(Path.Combine(dir, "frontier.csv"), report.ToCsv());
            File.WriteAllText(Path.Combine(dir, "frontier.json"), report.ToJson());
            FrontierChart.SavePng(report, Path.Combine(dir, "frontier.png"));
            FrontierChart.SaveSvg(report, Path.Combine(dir, "frontier.svg"));
            stdout.WriteLine($"wrote frontier.csv, frontier.json, frontier.png and frontier.svg in {dir}");
            return Task.FromResult(AidaCommand.Ok);
        });
        return command;
    }

    private static Scenario WithSetpoint(Scenario s, SweepParameter p, double value) => s with
    {
        Setpoints = p.Name switch
        {
            "facility_water_supply" => s.Setpoints with { FacilityWaterSupplyCelsius = value },
            "cdu_supply" => s.Setpoints with { CduSupplyCelsius = value },
            "crah_supply" => s.Setpoints with { CrahSupplyCelsius = value },
            _ => throw new BadInputException($"--sweep: unknown parameter '{p.Name}'"),
        },
    };

    private static StandingSetpoints Standing(SweepParameter p, double value) => p.Name switch
    {
        "facility_water_supply" => new StandingSetpoints(FacilityWaterSupplyCelsius: value),
        "cdu_supply" => new StandingSetpoints(CduSupplyCelsius: value),
        "crah_supply" => new StandingSetpoints(CrahSupplyCelsius: value),
        _ => throw new BadInputException($"--sweep: unknown parameter '{p.Name}'"),
    };
}
