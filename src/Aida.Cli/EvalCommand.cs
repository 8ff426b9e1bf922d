using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Aida.Model.Config;
using Aida.Model.Scenarios;
using Aida.Observability.Detection;
using Aida.Observability.Incidents;
using Aida.Observability.RootCause;
using Aida.Reliability.OpenSlo;
using Aida.Reliability.Runs;
using Aida.Telemetry.Ingest;
using Aida.Telemetry.Query;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;

namespace Aida.Cli;

/// <summary><c>aida eval rca</c>: runs every fault scenario of a suite (and fault-free runs) on the twin, detects, folds
/// and explains on the telemetry alone, and scores the findings against the twin's ground truth (docs/evaluation.md).</summary>
internal static class EvalCommand
{
    /// <summary>Fault kinds that build up over hours or days: time to detect is judged against 30 min, not 60 s.</summary>
    private static readonly HashSet<string> Gradual = new(StringComparer.Ordinal) { "cold-plate-fouling", "dry-cooler-fouling", "cooling-tower-fouling", "sensor-drift", "heat-wave" };

    /// <summary>Fault kinds the twin injects that are not in TWIN.md's fault table, the set issue 6's targets are set
    /// over. An actuator failure (TWIN.md, "Sensors and actuators": a write that does nothing) changes nothing the
    /// telemetry carries until someone writes: the reported setpoint is the actuator's value, not the value written.
    /// Cooling-tower fouling is the evaporative plant's counterpart of the table's dry-cooler fouling, on a plant TWIN.md
    /// does not describe. These kinds are run and reported, in the "all" row and on their own, but the targets are judged
    /// without them.</summary>
    private static readonly HashSet<string> OutsideFaultTable = new(StringComparer.Ordinal) { "actuator-failure", "cooling-tower-fouling" };

    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var suite = new Option<string>("--suite") { Description = "Directory of fault scenarios (*.yaml), one per fault kind", Required = true };
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated seeds; each scenario runs once per seed", DefaultValueFactory = _ => "1,2,3" };
        var output = new Option<string?>("--out", "-o") { Description = "Directory to write eval.json into" };
        var after = new Option<string>("--after") { Description = "Simulated time kept after the last fault onset (the scenario is cut there when it is longer)", DefaultValueFactory = _ => "2h" };
        var warmup = new Option<string>("--warmup") { Description = "Start of each run not judged (the twin settles from its initial state)", DefaultValueFactory = _ => "30m" };
        var faultFree = new Option<string>("--fault-free") { Description = "Scenario run fault-free once per seed to count false incidents", DefaultValueFactory = _ => "reference" };
        var faultFreeDuration = new Option<string>("--fault-free-duration") { Description = "Simulated time of each fault-free run", DefaultValueFactory = _ => "12h" };
        var mode = AidaCommand.ModeOption();
        mode.DefaultValueFactory = _ => "digital";
        var slos = SloPack.Option();
        slos.Description = "OpenSLO v1 file or directory whose burn-rate alerts join the alerts folded into incidents (default: the bundled facility pack, slos/; 'none' for telemetry alerts only)";
        var eval = new Command("eval", "Evaluate Aida against the twin's ground truth");
        var rca = new Command("rca", "Detection, incident grouping and root cause over a suite of fault scenarios: detection rate, AC@1, AC@3, time to detect, false incidents, compression")
        {
            suite, seeds, output, after, warmup, faultFree, faultFreeDuration, mode, slos,
        };
        eval.Subcommands.Add(rca);
        rca.SetAction(parse =>
        {
            var settings = new EvalSettings(
                ParseSeeds(parse.GetValue(seeds)!),
                AidaCommand.ParseDuration(parse.GetValue(after), "--after")!.Value,
                ParseNonNegative(parse.GetValue(warmup)!, "--warmup"),
                AidaCommand.ParseDuration(parse.GetValue(faultFreeDuration), "--fault-free-duration")!.Value,
                AidaCommand.ParseMode(parse.GetValue(mode)!))
            {
                Slos = SloPack.Load(parse.GetValue(slos)),
            };
            if (settings.FaultFreeDuration <= settings.Warmup)
            {
                throw new BadInputException($"--fault-free-duration: {parse.GetValue(faultFreeDuration)} leaves nothing to judge after the --warmup of {parse.GetValue(warmup)}; give a longer one");
            }

            var scenarios = LoadSuite(parse.GetValue(suite)!);
            var reference = AidaCommand.LoadScenario(parse.GetValue(faultFree)!) with { Faults = [] };
            var report = Evaluate(scenarios, reference, settings, line => stderr.WriteLine(line));
            WriteTable(stdout, report);
            if (parse.GetValue(output) is { } dir)
            {
                Directory.CreateDirectory(dir);
                var path = Path.Combine(dir, "eval.json");
                File.WriteAllText(path, ToJson(report, settings));
                stdout.WriteLine($"wrote {path}");
            }

            return AidaCommand.Ok;
        });
        return eval;
    }

    internal sealed record EvalSettings(IReadOnlyList<int> Seeds, TimeSpan After, TimeSpan Warmup, TimeSpan FaultFreeDuration, OperatingMode Mode)
    {
        /// <summary>SLOs whose burn-rate alerts are folded with the telemetry alerts; null for telemetry alerts only.</summary>
        public SloSet? Slos { get; init; }
    }

    /// <summary>One simulated run: its alerts, incidents and, for a fault run, how the fault was found.</summary>
    internal sealed record RunResult(
        string Scenario, string Kind, int Seed, double DurationSeconds, int Alerts, int Incidents, int FalseIncidents, double NormalSeconds,
        bool Detected, double? MttdSeconds, int? Rank, IReadOnlyList<CauseCandidate> Top, string Truth)
    {
        /// <summary>Every alert of the run with the number (1-based, in fold order) of the incident holding it.</summary>
        public IReadOnlyList<(Alert Alert, int Incident)> AlertLog { get; init; } = [];

        /// <summary>Incidents after the onset that are not the fault's: no alert on an injected fault's asset, and no
        /// injected fault among their top three causes (a drift check misled by a fault's disturbance).</summary>
        public int UnrelatedIncidents { get; init; }

        /// <summary>Seconds judged from the onset to the run's end.</summary>
        public double FaultWindowSeconds { get; init; }
    }

    /// <summary>Detection rate, AC@1 and AC@3 over a set of fault runs.</summary>
    internal sealed record Scores(int Runs, double DetectionRate, double Ac1, double Ac3)
    {
        public static Scores Of(IReadOnlyCollection<RunResult> runs) =>
            new(runs.Count, Rate(runs, r => r.Detected), Rate(runs, r => r.Rank == 1), Rate(runs, r => r.Rank is <= 3));
    }

    internal sealed record KindResult(string Kind, bool Gradual, int Runs, double DetectionRate, double Ac1, double Ac3, double? MttdSeconds, double MttdTargetSeconds);

    /// <param name="All">Every fault run of the suite.</param>
    /// <param name="FaultTable">The fault runs of TWIN.md's fault table's kinds (all but <see cref="OutsideFaultTable"/>):
    /// what issue 6's targets are judged on.</param>
    internal sealed record EvalReport(IReadOnlyList<RunResult> Runs, IReadOnlyList<KindResult> Kinds, Scores All, Scores FaultTable,
        double FalseIncidentsPerDay, double NormalDays, int Alerts, int Incidents, double Compression)
    {
        /// <summary>Unrelated incidents after fault onsets (<see cref="RunResult.UnrelatedIncidents"/>), over all fault runs.</summary>
        public int UnrelatedIncidents => Runs.Sum(r => r.UnrelatedIncidents);

        /// <summary>Days from the onsets to the runs' ends, over all fault runs.</summary>
        public double FaultWindowDays => Runs.Sum(r => r.FaultWindowSeconds) / 86400;

        /// <summary>Of <see cref="Alerts"/>, the SLO burn-rate alerts.</summary>
        public int SloAlerts => Runs.Sum(r => r.AlertLog.Count(x => x.Alert.Source == AlertSource.SloBurn));
    }

    internal static List<Scenario> LoadSuite(string dir)
    {
        if (!Directory.Exists(dir))
        {
            throw new BadInputException($"--suite: no directory '{dir}'");
        }

        var files = Directory.GetFiles(dir, "*.yaml").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            throw new BadInputException($"--suite: '{dir}' holds no scenario (*.yaml)");
        }

        var list = new List<Scenario>();
        foreach (var f in files)
        {
            try
            {
                list.Add(ScenarioLoader.Load(f));
            }
            catch (ConfigException e) when (!e.Message.Contains(Path.GetFileName(f), StringComparison.Ordinal))
            {
                throw new BadInputException($"{f}: {e.Message}", e);
            }
        }

        var faultless = list.FirstOrDefault(s => s.Faults.Count == 0);
        return faultless is null ? list : throw new BadInputException($"{faultless.SourceFile}: a fault scenario with no faults");
    }

    internal static EvalReport Evaluate(IReadOnlyList<Scenario> scenarios, Scenario faultFree, EvalSettings settings, Action<string> progress)
    {
        var jobs = new List<(Scenario Scenario, int Seed, bool Faulty)>();
        foreach (var s in scenarios)
        {
            jobs.AddRange(settings.Seeds.Select(seed => (s, seed, true)));
        }

        jobs.AddRange(settings.Seeds.Select(seed => (faultFree, seed, false)));
        var results = new RunResult[jobs.Count];
        Parallel.For(0, jobs.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(2, Environment.ProcessorCount) }, i =>
        {
            results[i] = RunOne(jobs[i].Scenario, jobs[i].Seed, jobs[i].Faulty, settings);
            var r = results[i];
            lock (progress)
            {
                progress(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Scenario} seed {r.Seed}: {r.Alerts} alerts, {r.Incidents} incidents, {(r.Kind == "" ? "fault-free" : r.Detected ? $"found after {r.MttdSeconds:0} s, right cause at rank {r.Rank?.ToString(CultureInfo.InvariantCulture) ?? "-"} (top: {Describe(r.Top.Count > 0 ? r.Top[0] : null)})" : "missed")}"));
            }
        });

        var faulty = results.Where(r => r.Kind != "").ToList();
        var kinds = faulty.GroupBy(r => r.Kind, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var mttd = g.Where(r => r.MttdSeconds is not null).Select(r => r.MttdSeconds!.Value).Order().ToList();
            var gradual = Gradual.Contains(g.Key);
            return new KindResult(g.Key, gradual, g.Count(), Rate(g, r => r.Detected), Rate(g, r => r.Rank == 1), Rate(g, r => r.Rank is <= 3),
                mttd.Count == 0 ? null : mttd[mttd.Count / 2], gradual ? 1800 : 60);
        }).ToList();
        var normal = results.Sum(r => r.NormalSeconds) / 86400;
        var alerts = results.Sum(r => r.Alerts);
        var incidents = results.Sum(r => r.Incidents);
        return new EvalReport(results, kinds, Scores.Of(faulty), Scores.Of([.. faulty.Where(r => !OutsideFaultTable.Contains(r.Kind))]),
            normal > 0 ? results.Sum(r => r.FalseIncidents) / normal : 0, normal, alerts, incidents, alerts > 0 ? 1 - ((double)incidents / alerts) : 0);
    }

    private static double Rate(IEnumerable<RunResult> runs, Func<RunResult, bool> hit)
    {
        var list = runs.ToList();
        return list.Count == 0 ? 0 : (double)list.Count(hit) / list.Count;
    }

    private static RunResult RunOne(Scenario s, int seed, bool faulty, EvalSettings settings)
    {
        // A planned write may be what exposes a fault (a failed actuator), so it counts as an onset for the cut.
        var lastOnset = s.Faults.Select(f => f.Start).Concat(faulty ? s.Writes.Select(w => w.At) : []).DefaultIfEmpty(TimeSpan.Zero).Max();
        var duration = faulty ? Min(s.Duration, lastOnset + settings.After) : settings.FaultFreeDuration;
        var sim = new Simulator(s, new SimulationOptions { Mode = settings.Mode, Duration = duration, Seed = seed });
        var store = new Tsdb(new TsdbOptions { Clock = sim.Clock, Retention = TimeSpan.FromDays(3650) });
        var recorder = new PlantTelemetryRecorder(store, sim.Plant, sim.GpuCatalog, s.Factory.Site.Name);
        sim.RecordTo(recorder);
        var summary = sim.Run();

        // From here on only telemetry and the factory model: the twin's truth is read back below, for scoring alone.
        var query = new EmbeddedQueryEngine(store);
        var judgedFrom = s.Start + settings.Warmup;
        var end = s.Start + duration;
        var alerts = new TelemetryAlerting(query, s.Factory).DetectAsync(judgedFrom, end).GetAwaiter().GetResult();
        if (settings.Slos is { } slos)
        {
            // Burn rates read the run from its start; only alerts that fired after the warm-up are judged.
            var bySlo = slos.Slos.ToDictionary(x => x.Name, StringComparer.Ordinal);
            var burning = new RunSloEvaluator(query).AlertsAsync(slos, s.Start, end).GetAwaiter().GetResult();
            alerts = [.. alerts.Concat(burning.Where(b => b.StartsAt > judgedFrom).Select(b => SloBurnAlerts.From(b, bySlo[b.Slo]))).OrderBy(a => a.At)];
        }

        var incidents = new IncidentGrouper(s.Factory.Topology).Fold(alerts);
        var analyzer = new RootCauseAnalyzer(s.Factory);
        var log = incidents.SelectMany((i, n) => i.Alerts.Select(a => (a, n + 1))).OrderBy(x => x.a.At).ThenBy(x => x.Item2).ToList();

        if (!faulty)
        {
            return new RunResult(s.Name + " (fault-free)", "", seed, duration.TotalSeconds, alerts.Count, incidents.Count, incidents.Count,
                (end - judgedFrom).TotalSeconds, false, null, null, incidents.Count > 0 ? analyzer.Analyze(incidents[0]).Ranked : [], "")
            { AlertLog = log };
        }

        // The scenario's own kind (the suite names each scenario for its fault kind); all of its faults otherwise.
        var targets = summary.Faults.Where(f => f.Kind == s.Name).ToList();
        if (targets.Count == 0)
        {
            targets = [.. summary.Faults];
        }

        // A latent fault shows only once another fault calls on it (a generator that fails to start is seen when its feed
        // is lost): it is timed from the latest onset among the scenario's faults that overlap it.
        var firstStart = targets.Min(f => f.StartSeconds);
        var onsetSeconds = summary.Faults.Where(f => f.StartSeconds >= firstStart && (f.EndSeconds is null || f.EndSeconds > firstStart)
            && targets.Any(t => t.EndSeconds is null || f.StartSeconds < t.EndSeconds)).Max(f => f.StartSeconds);
        // A failed actuator is latent too: it shows at the first write it ignores (a planned change of the scenario).
        foreach (var t in targets.Where(t => t.Kind == FaultCatalog.Of(FaultKind.ActuatorFailure).Name))
        {
            var exposed = s.Writes.Where(x => x.Actuator == t.Asset && x.At.TotalSeconds >= t.StartSeconds && (t.EndSeconds is null || x.At.TotalSeconds < t.EndSeconds))
                .Select(x => x.At.TotalSeconds).DefaultIfEmpty(double.NaN).Min();
            if (exposed > onsetSeconds)
            {
                onsetSeconds = exposed;
            }
        }

        var onset = s.Start + TimeSpan.FromSeconds(onsetSeconds);
        var faultEnd = targets.All(f => f.EndSeconds is not null) ? s.Start + TimeSpan.FromSeconds(targets.Max(f => f.EndSeconds!.Value)) : end;
        var before = incidents.Where(i => i.LastAlert < onset).ToList();
        var normalSeconds = Math.Max(0, (onset - judgedFrom).TotalSeconds);
        var truth = string.Join(", ", targets.Select(t => $"{t.Kind} {t.Asset}"));
        var firstAlert = alerts.FirstOrDefault(a => a.At >= onset && a.At <= faultEnd);
        var incident = firstAlert is null ? null : incidents.First(i => i.Alerts.Contains(firstAlert));
        // Incidents after the onset with nothing of the injected faults in them: what a fault's disturbance misled.
        var faultAssets = summary.Faults.Select(f => f.Asset.Split('/')[0]).ToHashSet(StringComparer.Ordinal);
        var unrelated = incidents.Count(i => i != incident && i.LastAlert >= onset && !i.Assets.Overlaps(faultAssets)
            && !analyzer.Analyze(i).Ranked.Take(3).Any(c => summary.Faults.Any(f => Matches(c, f, s.Factory.Site.Name))));
        if (incident is null)
        {
            return new RunResult(s.Name, targets[0].Kind, seed, duration.TotalSeconds, alerts.Count, incidents.Count, before.Count, normalSeconds, false, null, null, [], truth)
            { AlertLog = log, UnrelatedIncidents = unrelated, FaultWindowSeconds = (end - onset).TotalSeconds };
        }

        var finding = analyzer.Analyze(incident);
        int? rank = null;
        for (var k = 0; k < finding.Ranked.Count && rank is null; k++)
        {
            if (targets.Any(t => Matches(finding.Ranked[k], t, s.Factory.Site.Name)))
            {
                rank = k + 1;
            }
        }

        return new RunResult(s.Name, targets[0].Kind, seed, duration.TotalSeconds, alerts.Count, incidents.Count, before.Count, normalSeconds,
            true, (firstAlert!.At - onset).TotalSeconds, rank, [.. finding.Ranked.Take(3)], truth)
        { AlertLog = log, UnrelatedIncidents = unrelated, FaultWindowSeconds = (end - onset).TotalSeconds };
    }

    /// <summary>The right cause: the same fault kind on the same asset (a sensor point's asset for sensor faults; any
    /// asset for a site-wide fault such as a heat wave).</summary>
    internal static bool Matches(CauseCandidate c, FaultRecord truth, string site)
    {
        if (c.FaultKind != truth.Kind)
        {
            return false;
        }

        var asset = truth.Asset.Split('/')[0];
        return asset.Length == 0 || asset == site || asset == "site" || c.Asset.Split('/')[0] == asset;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static string Describe(CauseCandidate? c) => c is null ? "none" : $"{c.FaultKind} {c.Asset}";

    private static void WriteTable(TextWriter o, EvalReport r)
    {
        o.WriteLine($"{"fault kind",-26} {"runs",4} {"detected",8} {"AC@1",5} {"AC@3",5} {"MTTD s",8} {"target s",8}");
        foreach (var k in r.Kinds)
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{k.Kind,-26} {k.Runs,4} {k.DetectionRate,8:P0} {k.Ac1,5:0.00} {k.Ac3,5:0.00} {(k.MttdSeconds is { } m ? m.ToString("0", CultureInfo.InvariantCulture) : "-"),8} {k.MttdTargetSeconds,8:0}"));
        }

        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{"all",-26} {r.All.Runs,4} {r.All.DetectionRate,8:P1} {r.All.Ac1,5:0.00} {r.All.Ac3,5:0.00}"));
        if (r.FaultTable.Runs > 0)
        {
            // (A suite of kinds outside the table has no row to show: not 0 %.)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{"TWIN.md fault table",-26} {r.FaultTable.Runs,4} {r.FaultTable.DetectionRate,8:P1} {r.FaultTable.Ac1,5:0.00} {r.FaultTable.Ac3,5:0.00}"));
        }
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"false incidents: {r.Runs.Sum(x => x.FalseIncidents)} in {r.NormalDays:0.00} fault-free days = {r.FalseIncidentsPerDay:0.00}/day ({r.UnrelatedIncidents} more after fault onsets, unrelated to the fault, in {r.FaultWindowDays:0.00} days); compression: {r.Alerts} alerts ({r.SloAlerts} SLO burn-rate) into {r.Incidents} incidents = {r.Compression:P1} folded"));
    }

    private static string ToJson(EvalReport r, EvalSettings settings)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("seeds");
            foreach (var s in settings.Seeds)
            {
                w.WriteNumberValue(s);
            }

            w.WriteEndArray();
            w.WriteString("mode", settings.Mode.ToString().ToLowerInvariant());
            w.WriteNumber("after_seconds", settings.After.TotalSeconds);
            w.WriteNumber("warmup_seconds", settings.Warmup.TotalSeconds);
            w.WriteNumber("detection_rate", Math.Round(r.All.DetectionRate, 4));
            w.WriteNumber("ac1", Math.Round(r.All.Ac1, 4));
            w.WriteNumber("ac3", Math.Round(r.All.Ac3, 4));
            w.WriteStartObject("fault_table");
            w.WriteNumber("runs", r.FaultTable.Runs);
            w.WriteNumber("detection_rate", Math.Round(r.FaultTable.DetectionRate, 4));
            w.WriteNumber("ac1", Math.Round(r.FaultTable.Ac1, 4));
            w.WriteNumber("ac3", Math.Round(r.FaultTable.Ac3, 4));
            w.WriteEndObject();
            w.WriteNumber("false_incidents_per_day", Math.Round(r.FalseIncidentsPerDay, 4));
            w.WriteNumber("fault_free_days", Math.Round(r.NormalDays, 4));
            w.WriteNumber("unrelated_incidents_after_onset", r.UnrelatedIncidents);
            w.WriteNumber("fault_window_days", Math.Round(r.FaultWindowDays, 4));
            w.WriteNumber("alerts", r.Alerts);
            w.WriteNumber("slo_alerts", r.SloAlerts);
            w.WriteNumber("incidents", r.Incidents);
            w.WriteNumber("compression", Math.Round(r.Compression, 4));
            w.WriteStartObject("mttd_seconds");
            foreach (var k in r.Kinds)
            {
                if (k.MttdSeconds is { } m)
                {
                    w.WriteNumber(k.Kind, m);
                }
                else
                {
                    w.WriteNull(k.Kind);
                }
            }

            w.WriteEndObject();
            w.WriteStartObject("kinds");
            foreach (var k in r.Kinds)
            {
                w.WriteStartObject(k.Kind);
                w.WriteBoolean("gradual", k.Gradual);
                w.WriteNumber("runs", k.Runs);
                w.WriteNumber("detection_rate", Math.Round(k.DetectionRate, 4));
                w.WriteNumber("ac1", Math.Round(k.Ac1, 4));
                w.WriteNumber("ac3", Math.Round(k.Ac3, 4));
                if (k.MttdSeconds is { } m)
                {
                    w.WriteNumber("mttd_seconds", m);
                }
                else
                {
                    w.WriteNull("mttd_seconds");
                }

                w.WriteNumber("mttd_target_seconds", k.MttdTargetSeconds);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteStartArray("runs");
            foreach (var run in r.Runs)
            {
                w.WriteStartObject();
                w.WriteString("scenario", run.Scenario);
                w.WriteNumber("seed", run.Seed);
                w.WriteString("truth", run.Truth);
                w.WriteNumber("alerts", run.Alerts);
                w.WriteNumber("incidents", run.Incidents);
                w.WriteNumber("false_incidents", run.FalseIncidents);
                w.WriteNumber("unrelated_incidents", run.UnrelatedIncidents);
                w.WriteBoolean("detected", run.Detected);
                if (run.MttdSeconds is { } m)
                {
                    w.WriteNumber("mttd_seconds", m);
                }

                if (run.Rank is { } rank)
                {
                    w.WriteNumber("rank", rank);
                }

                w.WriteStartArray("top");
                foreach (var c in run.Top)
                {
                    w.WriteStartObject();
                    w.WriteString("asset", c.Asset);
                    w.WriteString("kind", c.FaultKind);
                    w.WriteNumber("score", c.Score);
                    w.WriteStartArray("evidence");
                    foreach (var e in c.Evidence)
                    {
                        w.WriteStringValue(e);
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteStartArray("alert_log");
                foreach (var (a, incident) in run.AlertLog)
                {
                    w.WriteStartObject();
                    w.WriteString("at", a.At.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
                    w.WriteString("name", a.Name);
                    w.WriteString("source", a.Source switch { AlertSource.SloBurn => "slo-burn", AlertSource.Anomaly => "anomaly", _ => "threshold" });
                    w.WriteString("asset", a.Asset);
                    w.WriteNumber("incident", incident);
                    w.WriteString("summary", a.Summary);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    internal static List<int> ParseSeeds(string text)
    {
        var list = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            list.Add(int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
                ? seed : throw new BadInputException($"--seeds: '{part}' is not an integer"));
        }

        return list.Count > 0 ? list : throw new BadInputException("--seeds: no seed given");
    }

    private static TimeSpan ParseNonNegative(string text, string option) =>
        text is "0" or "0s" ? TimeSpan.Zero : AidaCommand.ParseDuration(text, option)!.Value;
}
