using System.CommandLine;
using Aida.Automation.Actions;
using Aida.Model.Scenarios;
using Aida.Reliability.OpenSlo;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;

namespace Aida.Cli;

/// <summary><c>aida simulate</c>: run a scenario on the virtual clock and summarise it.</summary>
internal static class SimulateCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var scenario = AidaCommand.ScenarioOption("reference");
        scenario.Required = true;
        scenario.DefaultValueFactory = null;
        var mode = AidaCommand.ModeOption();
        var duration = AidaCommand.DurationOption("Simulated time to run instead of the scenario's");
        var seed = AidaCommand.SeedOption();
        var output = new Option<string?>("--out", "-o") { Description = "Directory to write summary.json into, and every sensor and GPU sample as a Prometheus-style store (DIR/tsdb) for aida query" };
        var noTelemetry = new Option<bool>("--no-telemetry") { Description = "With --out, write only summary.json, not the telemetry (docs/benchmarks.md gives its size per simulated day); no SLOs are evaluated then" };
        var slos = SloPack.Option();
        var command = new Command("simulate", "Run a scenario on the virtual clock, much faster than real time, print a summary and write summary.json")
        {
            scenario, mode, duration, seed, output, noTelemetry, slos,
        };
        command.SetAction(parse =>
        {
            var m = AidaCommand.ParseMode(parse.GetValue(mode)!, agentAllowed: true);
            var d = AidaCommand.ParseDuration(parse.GetValue(duration), "--duration");
            var s = AidaCommand.LoadScenario(parse.GetValue(scenario)!);
            var dir = parse.GetValue(output);
            var agentMode = m == OperatingMode.Agent;
            if (agentMode && parse.GetValue(noTelemetry))
            {
                throw new BadInputException("--no-telemetry: the agent works from the run's telemetry; drop it with --mode agent");
            }

            var keepTelemetry = dir is not null && !parse.GetValue(noTelemetry);
            var pack = keepTelemetry || agentMode ? SloPack.Load(parse.GetValue(slos)) : null;
            var bar = new ProgressBar(stderr, ProgressBar.IsTerminal, $"simulating {s.Name} ({m.ToString().ToLowerInvariant()})");
            var (summary, telemetry) = Run(s, new SimulationOptions { Mode = m, Duration = d, Seed = parse.GetValue(seed), Progress = bar.Report }, dir, keepTelemetry, pack);
            SummaryTable.Write(stdout, summary);
            if (dir is not null)
            {
                Directory.CreateDirectory(dir);
                var path = Path.Combine(dir, "summary.json");
                File.WriteAllText(path, summary.ToJson());
                if (telemetry is not null)
                {
                    stdout.WriteLine($"telemetry: {telemetry.Samples:N0} samples in {telemetry.Series:N0} series, {telemetry.BytesOnDisk / 1e6:0.0} MB on disk ({telemetry.BytesPerSample:0.00} bytes/sample) in {Path.Combine(dir, "tsdb")}");
                }

                stdout.WriteLine($"wrote {path}");
            }

            return AidaCommand.Ok;
        });
        return command;
    }

    /// <summary>One run as <c>aida simulate</c> makes it (also each run of <c>aida compare</c>): with its telemetry in
    /// <c>DIR/tsdb</c> when <paramref name="keepTelemetry"/>, judged by <paramref name="pack"/>, and Aida's agent in the
    /// loop in agent mode (reading a scratch store when no telemetry is kept).</summary>
    /// <param name="readStore">Reads the finished run's store before it closes (only when a store is kept or the agent runs).</param>
    /// <param name="readAgent">Reads the agent once its part of the summary is scored, before it is disposed (agent mode).</param>
    /// <param name="prepareAgent">Acts on the agent once it is attached, before the run starts (agent mode).</param>
    /// <returns>The summary, and what the store holds when it is kept.</returns>
    internal static (SimulationSummary Summary, TelemetryFigures? Telemetry) Run(
        Scenario s, SimulationOptions options, string? dir, bool keepTelemetry, SloSet? pack, Action<Tsdb, SimulationSummary>? readStore = null,
        Action<AgentHost>? readAgent = null, Action<AgentHost>? prepareAgent = null)
    {
        var simulator = new Simulator(s, options);
        var agentMode = options.Mode == OperatingMode.Agent;
        if (!keepTelemetry && !agentMode)
        {
            return (simulator.Run(), null);
        }

        if (agentMode && dir is not null)
        {
            AgentHost.StartAfresh(dir);
        }

        AgentHost? agent = null;
        var scratch = !keepTelemetry ? Path.Combine(Path.GetTempPath(), $"aida-simulate-{Guid.NewGuid():N}") : null;
        try
        {
            // With telemetry kept, the pack's SLOs are judged on it before the store closes; the agent reads it live.
            var (summary, telemetry) = TelemetryRun.Run(simulator, Path.Combine(dir ?? scratch!, "tsdb"), options.Progress, (store, sum) =>
            {
                var observed = TelemetryRun.WithObserved(sum, store, simulator.Scenario.Factory, simulator.Scenario.Start);
                observed = agent?.Score(observed, simulator.Scenario.Start) ?? observed;
                if (agent is not null)
                {
                    readAgent?.Invoke(agent);
                }

                var judged = pack is null ? observed : SloPack.Judge(pack, store, observed, simulator.Scenario.Start, agent?.Agent.ReadingExclusions ?? []);
                readStore?.Invoke(store, judged);
                return judged;
            }, agentMode ? store =>
            {
                agent = AgentHost.Attach(simulator, store, dir, pack, AutomationMode.Autonomous);
                prepareAgent?.Invoke(agent);
            } : null);
            return (summary, keepTelemetry ? telemetry : null);
        }
        finally
        {
            agent?.Dispose();
            if (scratch is not null && Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }
}
