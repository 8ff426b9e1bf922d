using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Aida.Reliability.Frontier;

/// <summary>How one SLO fared over one point of a sweep.</summary>
/// <param name="Name">The SLO.</param>
/// <param name="Objective">Its target, e.g. 0.999.</param>
/// <param name="Attained">The SLI over the run, 0 to 1; NaN without data.</param>
/// <param name="BudgetConsumed">Share of the SLO window's error budget the run spent (1 is all of it, above 1 overspent).</param>
public sealed record FrontierSlo(string Name, double Objective, double Attained, double BudgetConsumed);

/// <summary>One point of a sweep: the setting, what the plant used, how hot it ran, and each SLO's budget.</summary>
public sealed record FrontierPoint(
    double Setting,
    double ItEnergyKwh,
    double FacilityEnergyKwh,
    double CoolingEnergyKwh,
    double Pue,
    double EconomiserHours,
    double MaxRackInletCelsius,
    double MaxGpuTemperatureCelsius,
    double GpuThrottledSeconds,
    IReadOnlyList<FrontierSlo> Slos);

/// <summary>The result of <c>aida frontier</c>: a sweep's points and how to print them (table, CSV, JSON).</summary>
public sealed record FrontierReport(string Scenario, string Mode, int Seed, TimeSpan Duration, SweepSpec Sweep, IReadOnlyList<FrontierPoint> Points)
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>The SLOs evaluated at every point, in the order of the first point.</summary>
    public IReadOnlyList<string> SloNames => Points.Count == 0 ? [] : Points[0].Slos.Select(s => s.Name).ToList();

    /// <summary>An aligned text table: one row per setting.</summary>
    public void WriteTable(TextWriter w)
    {
        var p = Sweep.Parameter;
        var header = new List<string> { $"{p.Name} ({p.Unit})", "IT MWh", "facility MWh", "PUE", "economiser h", "max inlet °C", "max GPU °C", "throttled GPU-h" };
        header.AddRange(SloNames.Select(n => $"{n} budget"));
        var rows = Points.Select(x =>
        {
            var cells = new List<string>
            {
                x.Setting.ToString("0.##", C), (x.ItEnergyKwh / 1000).ToString("0.0", C), (x.FacilityEnergyKwh / 1000).ToString("0.0", C),
                x.Pue.ToString("0.000", C), x.EconomiserHours.ToString("0.0", C), x.MaxRackInletCelsius.ToString("0.0", C),
                x.MaxGpuTemperatureCelsius.ToString("0.0", C), (x.GpuThrottledSeconds / 3600).ToString("0.00", C),
            };
            cells.AddRange(x.Slos.Select(s => Percent(s.BudgetConsumed)));
            return cells;
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        w.WriteLine(string.Join("  ", header.Select((h, i) => h.PadLeft(widths[i]))));
        foreach (var r in rows)
        {
            w.WriteLine(string.Join("  ", r.Select((cell, i) => cell.PadLeft(widths[i]))));
        }
    }

    /// <summary>CSV (RFC 4180): one row per setting, budget consumed per SLO as a fraction.</summary>
    public string ToCsv()
    {
        var sb = new StringBuilder();
        var cols = new List<string>
        {
            Sweep.Parameter.Name, "it_energy_kwh", "facility_energy_kwh", "cooling_energy_kwh", "pue", "economiser_hours",
            "max_rack_inlet_celsius", "max_gpu_temperature_celsius", "gpu_throttled_seconds",
        };
        foreach (var n in SloNames)
        {
            cols.Add($"{n}_attained");
            cols.Add($"{n}_budget_consumed");
        }

        sb.Append(string.Join(',', cols)).Append('\n');
        foreach (var x in Points)
        {
            var cells = new List<string>
            {
                Num(x.Setting), Num(x.ItEnergyKwh), Num(x.FacilityEnergyKwh), Num(x.CoolingEnergyKwh), Num(x.Pue), Num(x.EconomiserHours),
                Num(x.MaxRackInletCelsius), Num(x.MaxGpuTemperatureCelsius), Num(x.GpuThrottledSeconds),
            };
            foreach (var s in x.Slos)
            {
                cells.Add(Num(s.Attained));
                cells.Add(Num(s.BudgetConsumed));
            }

            sb.Append(string.Join(',', cells)).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>The whole report as JSON, snake_case; NaN as null.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("scenario", Scenario);
            w.WriteString("mode", Mode);
            w.WriteNumber("seed", Seed);
            w.WriteNumber("duration_seconds", Duration.TotalSeconds);
            w.WriteString("parameter", Sweep.Parameter.Name);
            w.WriteString("unit", Sweep.Parameter.Unit);
            w.WriteString("sweep", Sweep.ToString());
            w.WriteStartArray("points");
            foreach (var x in Points)
            {
                w.WriteStartObject();
                Write(w, "setting", x.Setting);
                Write(w, "it_energy_kwh", x.ItEnergyKwh);
                Write(w, "facility_energy_kwh", x.FacilityEnergyKwh);
                Write(w, "cooling_energy_kwh", x.CoolingEnergyKwh);
                Write(w, "pue", x.Pue);
                Write(w, "economiser_hours", x.EconomiserHours);
                Write(w, "max_rack_inlet_celsius", x.MaxRackInletCelsius);
                Write(w, "max_gpu_temperature_celsius", x.MaxGpuTemperatureCelsius);
                Write(w, "gpu_throttled_seconds", x.GpuThrottledSeconds);
                w.WriteStartArray("slos");
                foreach (var s in x.Slos)
                {
                    w.WriteStartObject();
                    w.WriteString("name", s.Name);
                    Write(w, "objective", s.Objective);
                    Write(w, "attained", s.Attained);
                    Write(w, "budget_consumed", s.BudgetConsumed);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void Write(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, Math.Round(value, 6));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static string Num(double value) => double.IsFinite(value) ? Math.Round(value, 6).ToString("R", C) : "";

    private static string Percent(double fraction) => double.IsFinite(fraction) ? (fraction * 100).ToString("0.0", C) + " %" : "-";
}
