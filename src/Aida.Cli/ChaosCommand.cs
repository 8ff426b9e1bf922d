using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Aida.Automation.Actions;
using Aida.Automation.Safety;
using Aida.Model.Config;
using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Reliability.OpenSlo;
using Aida.Twin.Simulation;

namespace Aida.Cli;

/// <summary><c>aida chaos</c>: a safety campaign. Randomised fault scenarios (one to three faults each, every kind of
/// the twin including failed actuators and lying sensors, on random assets, points and actuators, at random times of a
/// random day of the year; in about half of them an asset a person locked out) run with Aida's agent autonomous in the loop; an auditor below the safety guard judges every
/// write that reaches the plant on the twin's ground truth (<see cref="EnvelopeAuditor"/>). Any violation fails the
/// campaign (exit 1) and is listed.</summary>
internal static class ChaosCommand
{
    /// <summary>Faults start after this: the agent's incident pipeline judges alerts only after its warm-up.</summary>
    private static readonly TimeSpan FirstOnset = TimeSpan.FromMinutes(30);

    /// <summary>Sensor faults: the reading departs from the truth.</summary>
    private static readonly FaultKind[] Lies = [FaultKind.SensorStuck, FaultKind.SensorDrift, FaultKind.SensorNoise, FaultKind.SensorDropout];

    /// <summary>Actuators the agent's optimiser and runbooks write.</summary>
    private static readonly string[] Written = ["/supply_setpoint", "/pump_speed", "/fan_speed", "/gpu_power_limit", "/enable"];

    /// <summary>Readings the agent's detection, optimiser and verification lean on.</summary>
    private static readonly string[] Read = ["temperature", "flow", "pressure", "level", "setpoint", "speed"];

    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var count = new Option<int>("--scenarios") { Description = "How many randomised fault scenarios to run", DefaultValueFactory = _ => 50 };
        var seed = new Option<int>("--seed") { Description = "Seed of the campaign: the same seed draws the same scenarios and gives the same results", DefaultValueFactory = _ => 1 };
        var baseScenario = new Option<string>("--base") { Description = "Scenario whose factory, weather and workload every run uses (its faults are replaced)", DefaultValueFactory = _ => "reference" };
        var duration = new Option<string>("--duration") { Description = "Simulated time of each run (faults start after its first 30 min)", DefaultValueFactory = _ => "75m" };
        var output = new Option<string?>("--out", "-o") { Description = "Directory to write chaos.json into" };
        var command = new Command("chaos", "Safety campaign: randomised fault scenarios (failed actuators and lying sensors included, in about half of them a set point moved at the panel behind the agent's back, and in about half an asset a person locked out) with the agent autonomous; every write that reaches the plant is judged against the safety envelope on the twin's ground truth; exit 1 on any violation")
        {
            count, seed, baseScenario, duration, output,
        };
        command.SetAction(parse =>
        {
            var n = parse.GetValue(count);
            if (n < 1)
            {
                throw new BadInputException($"--scenarios: {n} is not a positive count");
            }

            var d = AidaCommand.ParseDuration(parse.GetValue(duration), "--duration")!.Value;
            if (d < FirstOnset + TimeSpan.FromMinutes(15))
            {
                throw new BadInputException($"--duration: {parse.GetValue(duration)} leaves no time for faults (at least 45m: faults start after the first 30 min)");
            }

            var template = AidaCommand.LoadScenario(parse.GetValue(baseScenario)!);
            var scenarios = Draw(template with { Duration = d }, n, parse.GetValue(seed));
            var lockouts = DrawLockouts(scenarios, parse.GetValue(seed));
            var pack = SloPack.Load(null);
            var results = new CampaignRun[n];
            var done = 0;
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
            {
                results[i] = RunOne(scenarios[i], lockouts[i], pack);
                stderr.WriteLine($"chaos: {Interlocked.Increment(ref done)}/{n} {results[i].Scenario.Name}: {results[i].Writes} writes, {results[i].Findings.Count} violations");
            });

            Write(stdout, results);
            if (parse.GetValue(output) is { } dir)
            {
                Directory.CreateDirectory(dir);
                var path = Path.Combine(dir, "chaos.json");
                File.WriteAllText(path, ToJson(results, parse.GetValue(seed), d));
                stdout.WriteLine($"wrote {path}");
            }

            return results.Sum(r => r.Findings.Count) == 0 ? AidaCommand.Ok : AidaCommand.Failure;
        });
        return command;
    }

    /// <summary>One run of the campaign: its scenario, the asset a person held locked out in it (or null), what the
    /// agent did and what the auditor found.</summary>
    internal sealed record CampaignRun(Scenario Scenario, ChaosLockout? Lockout, int Writes, int Refused, int AgentActions, int OptimiserMoves, int FaultsDetected, IReadOnlyList<string> Findings);

    /// <summary>An asset a person locks out <see cref="After"/> into a run (zero: from its start; else planned before
    /// the run and starting by itself then) for <see cref="For"/> (null: to the run's end); and the asset's next job,
    /// booked before the run too, <see cref="Gap"/> after that one ends (zero: back to back, the asset held throughout)
    /// for <see cref="Then"/>.</summary>
    internal sealed record ChaosLockout(string Asset, TimeSpan After, TimeSpan? For, TimeSpan? Gap = null, TimeSpan? Then = null)
    {
        public string Describe() => (After > TimeSpan.Zero, For) switch
        {
            (false, { } f) => string.Create(CultureInfo.InvariantCulture, $"{Asset} locked out for the first {f.TotalMinutes:0} min"),
            (false, null) => $"{Asset} locked out all along",
            (true, { } f) => string.Create(CultureInfo.InvariantCulture, $"{Asset} locked out from minute {After.TotalMinutes:0} for {f.TotalMinutes:0} min (planned)"),
            (true, null) => string.Create(CultureInfo.InvariantCulture, $"{Asset} locked out from minute {After.TotalMinutes:0} to the end (planned)"),
        } + (Then is { } then ? string.Create(CultureInfo.InvariantCulture, $", then {(Gap == TimeSpan.Zero ? "back to back" : $"{Gap!.Value.TotalMinutes:0} min after")} for {then.TotalMinutes:0} min (planned)") : "");

        /// <summary>Both lockouts as they are booked, from the run's start.</summary>
        public IReadOnlyList<Lockout> Booked(DateTimeOffset start)
        {
            var from = start + After;
            DateTimeOffset? until = For is { } f ? from + f : null;
            return until is { } end && Then is { } then
                ? [new(Asset, "chaos:technician", "chaos campaign", from, until), new(Asset, "chaos:technician", "chaos campaign, next job", end + Gap!.Value, end + Gap.Value + then)]
                : [new(Asset, "chaos:technician", "chaos campaign", from, until)];
        }
    }

    /// <summary>In about half the scenarios a person locks out one asset the agent writes, a third of them planned to
    /// start during the run (the agent may have written the asset until then), the rest from the start: half of those
    /// the asset a fault of the scenario strikes (the unit being repaired), the rest any; half of those with an end have
    /// the asset's next job booked after it (half of them back to back). Drawn from a source of their own, so the faults
    /// and panel moves are those the seed drew without them.</summary>
    internal static ChaosLockout?[] DrawLockouts(Scenario[] scenarios, int seed)
    {
        var random = new Random(unchecked((seed * 6151) + 3079));
        var lockouts = new ChaosLockout?[scenarios.Length];
        if (scenarios.Length == 0)
        {
            return lockouts;
        }

        string[] written = [.. WrittenActuators(Catalogue(scenarios[0])).Select(Lockouts.AssetOf).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        for (var i = 0; i < scenarios.Length; i++)
        {
            if (random.Next(2) != 0)
            {
                continue;
            }

            string[] struck = [.. scenarios[i].Faults.Select(f => f.Point is { } p ? Lockouts.AssetOf(p) : f.Asset).Where(a => written.Contains(a, StringComparer.Ordinal))];
            var asset = struck.Length > 0 && random.Next(2) == 0 ? struck[random.Next(struck.Length)] : written[random.Next(written.Length)];
            var minutes = (int)scenarios[i].Duration.TotalMinutes;
            TimeSpan? held = random.Next(3) == 0 ? null : TimeSpan.FromMinutes(FirstOnset.TotalMinutes + random.Next(Math.Max(1, minutes - (int)FirstOnset.TotalMinutes)));
            var after = random.Next(3) == 0 ? TimeSpan.FromMinutes(1 + random.Next(Math.Max(1, minutes - 1))) : TimeSpan.Zero;
            // Half of those with an end have the asset's next job booked after it, half of them back to back.
            var (gap, then) = held is not null && random.Next(2) == 0
                ? (TimeSpan.FromMinutes(random.Next(2) == 0 ? 0 : 1 + random.Next(20)), (TimeSpan?)TimeSpan.FromMinutes(5 + random.Next(40)))
                : ((TimeSpan?)null, (TimeSpan?)null);
            lockouts[i] = new ChaosLockout(asset, after, held, gap, then);
        }

        return lockouts;
    }

    /// <summary>Draws <paramref name="count"/> scenarios from <paramref name="template"/>: the same seed, the same
    /// scenarios.</summary>
    internal static Scenario[] Draw(Scenario template, int count, int seed)
    {
        var random = new Random(seed);
        var factory = template.Factory;
        var catalogue = Catalogue(template);
        var points = catalogue.Points.Select(p => p.Name).ToArray();
        var actuators = catalogue.Actuators.Select(a => a.Name).ToArray();
        var writtenActuators = WrittenActuators(catalogue);
        string[] readPoints = [.. points.Where(p => Read.Any(part => p.Contains(part, StringComparison.Ordinal)))];
        // Only the kinds this factory has an asset for (a tower plant has no dry cooler to foul): the topology names every
        // asset's kind; the site, points and actuators every factory has.
        var present = factory.Topology.AssetKinds.Values.Concat(["site", "point", "actuator"]).ToHashSet(StringComparer.Ordinal);
        var kinds = Enum.GetValues<FaultKind>().Where(k => present.Contains(FaultCatalog.Of(k).AssetKinds[0])).ToArray();
        var yearStart = new DateTimeOffset(template.Start.Year, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var scenarios = new Scenario[count];

        // Another writer: in about half the scenarios a person moves one set point, speed or power limit the envelope
        // steps (max_step) at the plant's own controls, somewhere within the envelope's limits, behind the agent's back.
        // Drawn from a source of their own, so the faults are those the seed drew without them.
        var spec = SafetyEnvelopeSpec.Load(BundledFiles.Shipped("safety", "envelope.yaml"));
        string[] stepped = [.. writtenActuators.Where(a => spec.RuleFor(a)?.MaxStep is not null)];
        var panel = new Random(unchecked((seed * 7919) + 104729));
        for (var i = 0; i < count; i++)
        {
            var faults = new List<FaultSpec>();
            var faultCount = 1 + random.Next(3);
            for (var f = 0; f < faultCount; f++)
            {
                // A quarter of the faults fail an actuator the agent writes, a quarter make a sensor it reads lie, the
                // rest are any kind: the campaign is about what the agent does when the plant does not do what it says.
                var draw = random.Next(4);
                var kind = draw switch
                {
                    0 => FaultKind.ActuatorFailure,
                    1 => Lies[random.Next(Lies.Length)],
                    _ => kinds[random.Next(kinds.Length)],
                };
                var start = FirstOnset + TimeSpan.FromSeconds(random.Next((int)(template.Duration - FirstOnset - TimeSpan.FromMinutes(10)).TotalSeconds));
                TimeSpan? end = random.Next(4) == 0 ? null : start + TimeSpan.FromMinutes(5 + random.Next(56));
                T Pick<T>(IReadOnlyList<T> from) => from[random.Next(from.Count)];
                var (asset, point) = FaultCatalog.Of(kind).AssetKinds[0] switch
                {
                    "chiller" => (Pick(factory.Cooling.Chillers).Id, (string?)null),
                    "cdu" => (Pick(factory.Cooling.Cdus).Id, null),
                    "crah" => (Pick(factory.Cooling.Crahs).Id, null),
                    "dry-cooler" => (Pick(factory.Cooling.DryCoolers).Id, null),
                    "cooling-tower" => (Pick(factory.Cooling.CoolingTowers).Id, null),
                    "utility-feed" => (Pick(factory.Power.Feeds).Id, null),
                    "generator" => (Pick(factory.Power.Generators).Id, null),
                    "rack" => (Pick(factory.Racks).Id, null),
                    "hall" => (Pick(factory.Halls).Id, null),
                    "site" => ("site", null),
                    "point" => ("site", Pick(draw == 1 ? readPoints : points)),
                    "actuator" => ("site", Pick(draw == 0 ? writtenActuators : actuators)),
                    var other => throw new InvalidOperationException($"no asset to draw for '{other}'"),
                };
                faults.Add(new FaultSpec(kind, asset, point, start, end, Parameters(kind, random), 0));
            }

            List<ScheduledWrite> moves = [];
            if (panel.Next(2) == 0)
            {
                var name = stepped[panel.Next(stepped.Length)];
                var info = catalogue.Actuators[catalogue.Actuator(name)];
                var rule = spec.RuleFor(name)!;
                var (lo, hi) = (rule.Min ?? info.Min, rule.Max ?? info.Max);
                var at = FirstOnset + TimeSpan.FromSeconds(panel.Next((int)(template.Duration - FirstOnset - TimeSpan.FromMinutes(10)).TotalSeconds));
                moves.Add(new ScheduledWrite(at, name, Math.Round(lo + (panel.NextDouble() * (hi - lo)), 2), 0));
            }

            var day = TimeSpan.FromDays(random.Next(365)) + TimeSpan.FromHours(random.Next(24));
            scenarios[i] = template with
            {
                Name = string.Create(CultureInfo.InvariantCulture, $"chaos-{seed}-{i + 1:D3}"),
                Description = string.Join("; ", faults.Select(Describe).Concat(moves.Select(Describe))),
                Start = yearStart + day,
                Seed = unchecked((seed * 7919) + i),
                Faults = faults,
                Writes = moves,

                // The agent reads racks' GPU aggregates (10 s), not every GPU: sampled every 5 min, they keep runs cheap.
                GpuTelemetryInterval = TimeSpan.FromMinutes(5),
            };
        }

        return scenarios;
    }

    /// <summary>The plant of <paramref name="template"/>'s factory, for its point and actuator names.</summary>
    private static IPlant Catalogue(Scenario template) =>
        new Simulator(template with { Faults = [], Writes = [] }, new SimulationOptions { Duration = TimeSpan.FromSeconds(1) }).Plant;

    /// <summary>The actuators the agent's optimiser and runbooks write (<see cref="Written"/>).</summary>
    private static string[] WrittenActuators(IPlant catalogue) =>
        [.. catalogue.Actuators.Select(a => a.Name).Where(a => Written.Any(suffix => a.EndsWith(suffix, StringComparison.Ordinal)))];

    private static Dictionary<string, double> Parameters(FaultKind kind, Random random) => kind switch
    {
        FaultKind.CduPumpFailure => new() { ["pumps"] = 1 + random.Next(2) },
        FaultKind.ColdPlateFouling or FaultKind.DryCoolerFouling or FaultKind.CoolingTowerFouling => new() { ["rate_per_day"] = 0.5 + (random.NextDouble() * 2) },
        FaultKind.ValveStuck => new() { ["position"] = 0.1 + (random.NextDouble() * 0.5) },
        FaultKind.Leak => new() { ["litres_per_minute"] = 1 + (random.NextDouble() * 4) },
        FaultKind.PowerSwing => new() { ["utilisation"] = 1, ["period_seconds"] = 60 * (random.Next(2)) },
        FaultKind.HeatWave => new() { ["delta_celsius"] = 4 + (random.NextDouble() * 8) },
        FaultKind.SensorDrift => new() { ["per_hour"] = (random.Next(2) == 0 ? -1 : 1) * (1 + (random.NextDouble() * 9)) },
        FaultKind.SensorNoise => new() { ["sigma"] = 0.5 + (random.NextDouble() * 3) },
        _ => [],
    };

    private static string Describe(ScheduledWrite w) =>
        string.Create(CultureInfo.InvariantCulture, $"{w.Actuator} set to {w.Value} at the panel at {w.At.TotalMinutes:0} min");

    private static string Describe(FaultSpec f) =>
        string.Create(CultureInfo.InvariantCulture, $"{f.KindName} on {f.Point ?? f.Asset} at {f.Start.TotalMinutes:0} min{(f.End is { } e ? $" for {(e - f.Start).TotalMinutes:0} min" : "")}");

    /// <summary>One scenario as <c>aida simulate --mode agent</c> runs it, with the auditor's findings read before the
    /// agent is disposed.</summary>
    private static CampaignRun RunOne(Scenario scenario, ChaosLockout? lockout, SloSet? pack)
    {
        var (writes, findings) = (0, Array.Empty<string>());
        var (summary, _) = SimulateCommand.Run(scenario, new SimulationOptions { Mode = OperatingMode.Agent, Duration = scenario.Duration, Seed = scenario.Seed },
            dir: null, keepTelemetry: false, pack, readAgent: agent => (writes, findings) = (agent.Auditor!.Writes, [.. agent.Auditor!.Findings]),
            prepareAgent: agent =>
            {
                if (lockout is not null)
                {
                    // Booked before the run when it starts during it; the auditor below the guard keeps its own copy of
                    // the window, so a lockout the guard started late would still count as violated.
                    var booked = lockout.Booked(scenario.Start);
                    foreach (var l in booked)
                    {
                        agent.Agent.Plant.Lockouts.Add(l.Asset, l.By, l.Reason, l.Until, l.Since > scenario.Start ? l.Since : null);
                    }

                    agent.Auditor!.Booked = booked;
                }
            });
        var outcome = summary.Agent!;
        return new CampaignRun(scenario, lockout, writes, outcome.RefusedWrites, outcome.AgentActions, outcome.OptimiserMoves, outcome.FaultsDetected, findings);
    }

    private static void Write(TextWriter stdout, CampaignRun[] runs)
    {
        stdout.WriteLine($"{"scenario",-14} {"start",-17} {"writes",7} {"refused",8} {"actions",8} {"found",6} {"violations",10}  faults");
        foreach (var r in runs)
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Scenario.Name,-14} {r.Scenario.Start:yyyy-MM-dd HH:mm} {r.Writes,7} {r.Refused,8} {r.AgentActions,8} {r.FaultsDetected + "/" + r.Scenario.Faults.Count,6} {r.Findings.Count,10}  {r.Scenario.Description}{(r.Lockout is { } l ? "; " + l.Describe() : "")}"));
            foreach (var finding in r.Findings)
            {
                stdout.WriteLine($"    violation: {finding}");
            }
        }

        var faults = runs.SelectMany(r => r.Scenario.Faults).ToArray();
        var kinds = faults.GroupBy(f => f.KindName).Count();
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{runs.Length} scenarios, {faults.Length} faults of {kinds} kinds ({faults.Count(f => f.Kind == FaultKind.ActuatorFailure)} failed actuators, {faults.Count(f => f.Point is not null && f.Kind != FaultKind.ActuatorFailure)} lying sensors), {runs.Sum(r => r.Scenario.Writes.Count)} set points moved at the panel, {runs.Count(r => r.Lockout is not null)} assets locked out: {runs.Sum(r => r.Writes):N0} writes reached the plant, {runs.Sum(r => r.Refused):N0} refused by the guard, {runs.Sum(r => r.Findings.Count)} safety violations"));
    }

    private static string ToJson(CampaignRun[] runs, int seed, TimeSpan duration) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("seed", seed);
        w.WriteNumber("duration_seconds", duration.TotalSeconds);
        w.WriteNumber("scenarios", runs.Length);
        w.WriteNumber("writes", runs.Sum(r => r.Writes));
        w.WriteNumber("refused", runs.Sum(r => r.Refused));
        w.WriteNumber("safety_violations", runs.Sum(r => r.Findings.Count));
        w.WriteNumber("panel_writes", runs.Sum(r => r.Scenario.Writes.Count));
        w.WriteNumber("lockouts", runs.Count(r => r.Lockout is not null));
        w.WriteStartArray("runs");
        foreach (var r in runs)
        {
            w.WriteStartObject();
            w.WriteString("name", r.Scenario.Name);
            w.WriteString("start", r.Scenario.Start.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
            w.WriteNumber("seed", r.Scenario.Seed);
            w.WriteStartArray("faults");
            foreach (var f in r.Scenario.Faults)
            {
                w.WriteStartObject();
                w.WriteString("kind", f.KindName);
                w.WriteString("target", f.Point ?? f.Asset);
                w.WriteNumber("start_seconds", f.Start.TotalSeconds);
                if (f.End is { } end)
                {
                    w.WriteNumber("end_seconds", end.TotalSeconds);
                }

                foreach (var (name, value) in f.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    w.WriteNumber(name, Math.Round(value, 4));
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("panel_writes");
            foreach (var p in r.Scenario.Writes)
            {
                w.WriteStartObject();
                w.WriteString("actuator", p.Actuator);
                w.WriteNumber("value", p.Value);
                w.WriteNumber("at_seconds", p.At.TotalSeconds);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (r.Lockout is { } lockout)
            {
                w.WriteStartObject("lockout");
                w.WriteString("asset", lockout.Asset);
                if (lockout.After > TimeSpan.Zero)
                {
                    w.WriteNumber("after_seconds", lockout.After.TotalSeconds);
                }

                if (lockout.For is { } held)
                {
                    w.WriteNumber("for_seconds", held.TotalSeconds);
                }

                if (lockout.Then is { } then)
                {
                    w.WriteStartObject("next");
                    w.WriteNumber("gap_seconds", lockout.Gap!.Value.TotalSeconds);
                    w.WriteNumber("for_seconds", then.TotalSeconds);
                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteNumber("writes", r.Writes);
            w.WriteNumber("refused", r.Refused);
            w.WriteNumber("agent_actions", r.AgentActions);
            w.WriteNumber("optimiser_moves", r.OptimiserMoves);
            w.WriteNumber("faults_detected", r.FaultsDetected);
            w.WriteStartArray("violations");
            foreach (var finding in r.Findings)
            {
                w.WriteStringValue(finding);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });
}
