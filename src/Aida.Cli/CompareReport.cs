using System.Globalization;
using System.Text.Json;
using Aida.Twin.Simulation;

namespace Aida.Cli;

/// <summary>How a figure's change from a baseline mode to the agent reads as a saving (positive: the agent did better).</summary>
internal enum SavingKind
{
    /// <summary>Context only (IT energy, faults injected): no saving.</summary>
    None,

    /// <summary>(baseline - agent) / baseline, in %: energy.</summary>
    Percent,

    /// <summary>baseline - agent: PUE, seconds, counts where fewer is better.</summary>
    Reduction,

    /// <summary>agent - baseline: SLO attainment, budget left, faults detected.</summary>
    Gain,
}

/// <summary>One figure of a run as the comparison reads it from the run's summary; null when the run does not measure it
/// (a baseline has no safety auditor, a run without telemetry no SLOs).</summary>
internal sealed record CompareMetric(string Key, string Label, string Unit, SavingKind Saving, string Format, Func<SimulationSummary, double?> Value);

/// <summary>One run of a comparison: its summary, as <c>aida simulate</c> writes it, and its PUE per hour from its telemetry.</summary>
internal sealed record CompareRun(string Climate, string Mode, int Seed, SimulationSummary Summary, IReadOnlyList<double> HourlyPue);

/// <summary>A figure over seeds: the median, the least and the most, and each seed's value.</summary>
internal sealed record Spread(double Median, double Min, double Max, IReadOnlyList<KeyValuePair<int, double>> PerSeed)
{
    /// <summary>The spread of the values that are measured; null when none is.</summary>
    public static Spread? Of(IEnumerable<KeyValuePair<int, double?>> perSeed)
    {
        var values = perSeed.Where(p => p.Value is { } v && double.IsFinite(v)).Select(p => KeyValuePair.Create(p.Key, p.Value!.Value)).ToList();
        if (values.Count == 0)
        {
            return null;
        }

        var sorted = values.Select(p => p.Value).Order().ToArray();
        return new Spread(MedianOfSorted(sorted), sorted[0], sorted[^1], values);
    }

    /// <summary>The middle value, or the mean of the middle two of an even count; NaN for none.</summary>
    public static double MedianOf(IEnumerable<double> values) => MedianOfSorted([.. values.Order()]);

    private static double MedianOfSorted(double[] sorted)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}

/// <summary>Every run of one climate, with each mode's figures over seeds and the agent's savings against each other
/// mode, computed seed by seed on the same seed and then summarised.</summary>
internal sealed class ClimateComparison
{
    public ClimateComparison(string name, string weather, IReadOnlyList<string> modes, IReadOnlyList<int> seeds, IReadOnlyList<CompareRun> runs)
    {
        Name = name;
        Weather = weather;
        Runs = runs;
        Metrics = CompareMetrics.For(runs);
        foreach (var mode in modes)
        {
            Aggregates[mode] = Metrics.ToDictionary(m => m.Key, m => Spread.Of(seeds.Select(seed => KeyValuePair.Create(seed, m.Value(Run(mode, seed).Summary)))));
        }

        if (!modes.Contains(CompareMetrics.Agent))
        {
            return;
        }

        foreach (var baseline in modes.Where(m => m != CompareMetrics.Agent))
        {
            Savings[baseline] = Metrics.Where(m => m.Saving != SavingKind.None).ToDictionary(m => m.Key, m => Spread.Of(seeds.Select(seed =>
                KeyValuePair.Create(seed, CompareMetrics.Saving(m.Saving, m.Value(Run(baseline, seed).Summary), m.Value(Run(CompareMetrics.Agent, seed).Summary))))));
        }
    }

    public string Name { get; }

    /// <summary>The EPW file's name, or <c>synthetic</c>.</summary>
    public string Weather { get; }
    public IReadOnlyList<CompareRun> Runs { get; }
    public IReadOnlyList<CompareMetric> Metrics { get; }

    /// <summary>Mode, then metric key: the figure over seeds (null when no run measures it).</summary>
    public Dictionary<string, Dictionary<string, Spread?>> Aggregates { get; } = new(StringComparer.Ordinal);

    /// <summary>Baseline mode, then metric key: the agent's saving against it over seeds; empty without an agent run.</summary>
    public Dictionary<string, Dictionary<string, Spread?>> Savings { get; } = new(StringComparer.Ordinal);

    public CompareRun Run(string mode, int seed) => Runs.First(r => r.Mode == mode && r.Seed == seed);
}

/// <summary>The figures a comparison reads from each run's summary.</summary>
internal static class CompareMetrics
{
    public const string Agent = "agent";

    /// <summary>The fixed figures, then attainment and budget left for each SLO any run was judged by (in the pack's order).</summary>
    public static IReadOnlyList<CompareMetric> For(IReadOnlyList<CompareRun> runs)
    {
        var metrics = new List<CompareMetric>
        {
            new("facility_energy_kwh", "facility energy", "kWh", SavingKind.Percent, "#,0", s => s.FacilityEnergyKwh),
            new("it_energy_kwh", "IT energy", "kWh", SavingKind.None, "#,0", s => s.ItEnergyKwh),
            new("overhead_energy_kwh", "overhead energy (facility - IT)", "kWh", SavingKind.Percent, "#,0", s => s.FacilityEnergyKwh - s.ItEnergyKwh),
            new("cooling_energy_kwh", "cooling energy", "kWh", SavingKind.Percent, "#,0", s => s.CoolingEnergyKwh),
            new("pue", "PUE", "", SavingKind.Reduction, "0.0000", s => s.Pue),
            new("pue_overhead", "PUE - 1", "", SavingKind.Percent, "0.0000", s => s.Pue - 1),
            new("gpu_throttled_seconds", "throttled GPU time", "GPU-s", SavingKind.Reduction, "#,0", s => s.GpuThrottledSeconds),
            new("incidents_injected", "faults injected", "", SavingKind.None, "0", s => s.Faults.Count),
            new("incidents_detected", "faults detected", "", SavingKind.Gain, "0", s => s.Agent?.FaultsDetected ?? Math.Min(s.Operator.AlarmsNoticed, s.Faults.Count)),
            new("mttd_seconds", "mean time to detect", "s", SavingKind.Reduction, "#,0", s => s.Agent is { } a ? a.MttdSeconds : Measured(s.Operator.AlarmsNoticed, s.Operator.MeanTimeToNoticeSeconds)),
            new("mttr_seconds", "mean time to repair", "s", SavingKind.Reduction, "#,0", s => s.Agent is { } a ? a.MttrSeconds : Measured(s.Operator.AlarmsFixed, s.Operator.MeanTimeToFixSeconds)),
            new("remediated_without_manual_action", "faults remediated with no manual action", "", SavingKind.Gain, "0", s => s.Agent?.RemediatedWithoutManualAction ?? 0),
            new("mitigated_within_5_minutes", "of those, fixed within 5 min of detection", "", SavingKind.Gain, "0", s => s.Agent?.MitigatedWithinFiveMinutes ?? 0),
            new("manual_actions", "manual actions (toil)", "", SavingKind.Reduction, "0", s => s.Operator.ManualActions),
            new("agent_actions", "agent actions (runbooks)", "", SavingKind.None, "0", s => s.Agent?.AgentActions),
            new("optimiser_moves", "optimiser moves", "", SavingKind.None, "0", s => s.Agent?.OptimiserMoves),
            new("safety_violations", "safety violations", "", SavingKind.Reduction, "0", s => s.Agent?.SafetyViolations),
        };

        // An evaporative plant buys its energy with water: the comparison shows both, after PUE - 1.
        if (runs.Any(r => r.Summary.WaterLitres > 0))
        {
            var at = metrics.FindIndex(m => m.Key == "pue_overhead") + 1;
            metrics.InsertRange(at,
            [
                new("water_m3", "site water (cooling towers)", "m3", SavingKind.Percent, "#,0.0", s => s.WaterLitres / 1000),
                new("wue", "WUE (water / IT energy)", "L/kWh", SavingKind.Reduction, "0.000", s => s.Wue),
            ]);
        }
        foreach (var name in runs.SelectMany(r => r.Summary.Slos ?? []).Select(o => o.Name).Distinct(StringComparer.Ordinal))
        {
            metrics.Add(new($"slo:{name}:attained", $"SLO {name} attained", "%", SavingKind.Gain, "0.####", s => Slo(s, name)?.Attained * 100));
            metrics.Add(new($"slo:{name}:budget_remaining", $"SLO {name} budget left", "%", SavingKind.Gain, "0.##", s => Slo(s, name)?.BudgetRemaining * 100));
        }

        return metrics;
    }

    /// <summary>The agent's saving against a baseline on one seed; null when either is not measured or, for a
    /// percentage, the baseline is zero.</summary>
    public static double? Saving(SavingKind kind, double? baseline, double? agent)
    {
        if (baseline is not { } b || agent is not { } a || !double.IsFinite(b) || !double.IsFinite(a))
        {
            return null;
        }

        return kind switch
        {
            SavingKind.Percent => b == 0 ? null : (b - a) / b * 100,
            SavingKind.Reduction => b - a,
            SavingKind.Gain => a - b,
            _ => null,
        };
    }

    /// <summary>How a saving is printed: a percentage, or the difference in the figure's unit.</summary>
    public static string SavingUnit(CompareMetric m) => m.Saving == SavingKind.Percent ? "%" : m.Unit;

    public static string Show(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static double? Measured(int count, double meanSeconds) => count > 0 ? meanSeconds : null;

    private static SloOutcome? Slo(SimulationSummary s, string name) => s.Slos?.FirstOrDefault(o => o.Name == name);
}

/// <summary>A comparison over one or more climates: <c>compare.json</c> and the printed tables.</summary>
internal sealed record CompareReport(string Scenario, string Factory, TimeSpan Duration, IReadOnlyList<string> Modes, IReadOnlyList<int> Seeds, IReadOnlyList<ClimateComparison> Climates)
{
    /// <summary>Every run's summary (as its <c>summary.json</c>) and hourly PUE, each mode's figures over seeds and the
    /// agent's savings; byte-identical for the same scenario, modes, seeds, duration and weather.</summary>
    public string ToJson() => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("scenario", Scenario);
        w.WriteString("factory", Factory);
        w.WriteNumber("duration_seconds", Duration.TotalSeconds);
        w.WriteStartArray("modes");
        Modes.ToList().ForEach(w.WriteStringValue);
        w.WriteEndArray();
        w.WriteStartArray("seeds");
        Seeds.ToList().ForEach(w.WriteNumberValue);
        w.WriteEndArray();
        w.WriteStartArray("climates");
        foreach (var c in Climates)
        {
            w.WriteStartObject();
            w.WriteString("name", c.Name);
            w.WriteString("weather", c.Weather);
            w.WriteStartArray("runs");
            foreach (var run in c.Runs)
            {
                w.WriteStartObject();
                w.WriteString("mode", run.Mode);
                w.WriteNumber("seed", run.Seed);
                w.WritePropertyName("summary");
                using (var summary = JsonDocument.Parse(run.Summary.ToJson()))
                {
                    summary.RootElement.WriteTo(w);
                }

                w.WriteStartArray("pue_hourly");
                foreach (var pue in run.HourlyPue)
                {
                    WriteNumber(w, pue);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartObject("aggregates");
            foreach (var (mode, metrics) in c.Aggregates)
            {
                WriteSpreads(w, mode, metrics);
            }

            w.WriteEndObject();
            w.WriteStartObject("savings");
            foreach (var (baseline, metrics) in c.Savings)
            {
                WriteSpreads(w, $"{CompareMetrics.Agent}_vs_{baseline}", metrics);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });

    /// <summary>Per climate: each mode's figures (median, min-max and each seed's value), then the agent's savings.</summary>
    public void WriteTable(TextWriter w)
    {
        foreach (var c in Climates)
        {
            w.WriteLine($"== {Scenario}, {Duration.TotalHours:0.##} h, climate {c.Name} (weather {c.Weather}) ==");
            foreach (var mode in Modes)
            {
                w.WriteLine();
                w.WriteLine($"{mode}: median [min - max] over seeds; seed=value");
                Rows(w, c.Metrics, m => c.Aggregates[mode][m.Key], m => m.Format, m => m.Unit);
            }

            foreach (var baseline in c.Savings.Keys)
            {
                w.WriteLine();
                w.WriteLine($"agent vs {baseline}: saving per seed on the same seed (positive: the agent did better), median [min - max]; seed=saving");
                var shown = c.Metrics.Where(m => m.Saving != SavingKind.None).ToList();
                Rows(w, shown, m => c.Savings[baseline][m.Key], m => m.Saving == SavingKind.Percent ? "0.0" : m.Format, CompareMetrics.SavingUnit);
            }

            w.WriteLine();
        }
    }

    private static void Rows(TextWriter w, IReadOnlyList<CompareMetric> metrics, Func<CompareMetric, Spread?> spread, Func<CompareMetric, string> format, Func<CompareMetric, string> unit)
    {
        var width = metrics.Max(m => m.Label.Length + unit(m).Length + 3);
        foreach (var m in metrics)
        {
            var label = unit(m).Length > 0 ? $"{m.Label} ({unit(m)})" : m.Label;
            var text = spread(m) is { } s
                ? $"{CompareMetrics.Show(s.Median, format(m)),12}  [{CompareMetrics.Show(s.Min, format(m))} - {CompareMetrics.Show(s.Max, format(m))}]  " +
                    string.Join("  ", s.PerSeed.Select(p => $"{p.Key}={CompareMetrics.Show(p.Value, format(m))}"))
                : $"{"n/a",12}  (not measured in this mode)";
            w.WriteLine($"  {label.PadRight(width)}{text}");
        }
    }

    private static void WriteSpreads(Utf8JsonWriter w, string name, Dictionary<string, Spread?> metrics)
    {
        w.WriteStartObject(name);
        foreach (var (key, spread) in metrics)
        {
            if (spread is null)
            {
                w.WriteNull(key);
                continue;
            }

            w.WriteStartObject(key);
            w.WritePropertyName("median");
            WriteNumber(w, spread.Median);
            w.WritePropertyName("min");
            WriteNumber(w, spread.Min);
            w.WritePropertyName("max");
            WriteNumber(w, spread.Max);
            w.WriteStartObject("per_seed");
            foreach (var (seed, value) in spread.PerSeed)
            {
                w.WritePropertyName(seed.ToString(CultureInfo.InvariantCulture));
                WriteNumber(w, value);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    /// <summary>Six decimals: enough for every figure, and no noise from the last bits of a double.</summary>
    private static void WriteNumber(Utf8JsonWriter w, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumberValue(Math.Round(value, 6));
        }
        else
        {
            w.WriteNullValue();
        }
    }
}
