using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Aida.Reliability.Charts;
using ScottPlot;

namespace Aida.Cli;

/// <summary>The report of <c>aida compare</c> as one self-contained HTML file: inline CSS, tables and one inline SVG per
/// chart, nothing fetched.</summary>
internal static partial class CompareHtml
{
    private static readonly PlotGrid.Layout OneChart = new(760, 420, 1);

    public static string Write(CompareReport report)
    {
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>aida compare: {{Esc(report.Scenario)}}</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1600px; }
            table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
            th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
            th:first-child, td:first-child { text-align: left; }
            td.better { background: #e6f4e6; } td.worse { background: #fbe6e6; }
            .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1em; }
            figure { margin: 0; } figure svg { width: 100%; height: auto; }
            figcaption { font-size: 0.85em; color: #555; }
            </style>
            </head>
            <body>
            <h1>{{Esc(report.Scenario)}} ({{Esc(report.Factory)}}): {{Esc(string.Join(", ", report.Modes))}}</h1>
            <p>{{report.Duration.TotalHours:0.##}} h of plant time per run, seeds {{string.Join(", ", report.Seeds)}}, {{report.Climates.Count}} climate(s).
            Every run is <code>aida simulate</code> on the virtual clock; savings are taken seed by seed on the same seed, then summarised
            as median [min - max]. Positive savings: the agent did better. Definitions: docs/compare.md.</p>

            """);
        if (report.Climates.Count > 1 && report.Climates[0].Savings.Count > 0)
        {
            html.Append("<h2>Across climates</h2>\n<div class=\"charts\">\n");
            Chart(html, AcrossClimates(report), "Overhead energy saved by the agent per climate: the bar is the median over seeds, the dots each seed.");
            html.Append("</div>\n");
        }

        foreach (var c in report.Climates)
        {
            html.Append(CultureInfo.InvariantCulture, $"<h2>Climate {Esc(c.Name)} <small>(weather {Esc(c.Weather)})</small></h2>\n");
            foreach (var baseline in c.Savings.Keys)
            {
                html.Append(CultureInfo.InvariantCulture, $"<h3>Agent vs {Esc(baseline)}</h3>\n");
                SavingsTable(html, c, baseline);
            }

            html.Append("<h3>Each mode</h3>\n");
            ModesTable(html, report, c);
            html.Append("<div class=\"charts\">\n");
            foreach (var (plot, caption) in Charts(report, c))
            {
                Chart(html, plot, caption);
            }

            html.Append("</div>\n");
        }

        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static IEnumerable<(Plot Plot, string Caption)> Charts(CompareReport report, ClimateComparison c)
    {
        var modes = report.Modes;
        var slos = c.Metrics.Where(m => m.Key.StartsWith("slo:", StringComparison.Ordinal)).ToList();
        yield return (Bars(c, modes, "Facility energy (MWh)", [("", r => r.Summary.FacilityEnergyKwh / 1000)]), "Facility energy: bar = median over seeds, dots = each seed.");
        yield return (PueOverTime(c, modes), "PUE per hour of plant time from each run's meters (facility energy / IT energy), median over seeds per hour.");
        yield return (Bars(c, modes, "Overhead energy, facility - IT (MWh)", [("", r => (r.Summary.FacilityEnergyKwh - r.Summary.ItEnergyKwh) / 1000)]), "Overhead energy (PUE - 1 times IT energy).");
        yield return (Bars(c, modes, "Cooling energy (MWh)", [("", r => r.Summary.CoolingEnergyKwh / 1000)]), "Cooling energy: chillers, dry coolers, towers, pumps, CRAH fans, CDUs.");
        yield return (Bars(c, modes, "SLO attainment (%)", [.. slos.Where(m => m.Key.EndsWith(":attained", StringComparison.Ordinal)).Select(m => Group(m, "slo:", ":attained"))],
            "no SLO evaluated (--slos none)", nearHundred: true),
            "Share of each SLO's window that met its objective; the pack's objectives are 99.5 % to 99.995 %.");
        yield return (Bars(c, modes, "Error budget left (%)", [.. slos.Where(m => m.Key.EndsWith(":budget_remaining", StringComparison.Ordinal)).Select(m => Group(m, "slo:", ":budget_remaining"))],
            "no SLO evaluated (--slos none)"),
            "Share of each SLO's error budget the run left unspent (100 % = none spent).");
        yield return (Bars(c, modes, "Throttled GPU-seconds", [("", r => r.Summary.GpuThrottledSeconds)]), "GPU time spent thermally or power throttled, summed over GPUs.");
        yield return (Bars(c, modes, "Incidents: mean time to detect and repair (min)", [("detect", r => Value(c, "mttd_seconds", r) / 60), ("repair", r => Value(c, "mttr_seconds", r) / 60)],
            "nothing detected or repaired: no fault injected, or none found"),
            "Faults injected and detected per mode are in the tables; no bar: nothing to detect or repair in this mode.");
        yield return (Bars(c, modes, "Actions", [("manual (toil)", r => r.Summary.Operator.ManualActions), ("agent runbook", r => Value(c, "agent_actions", r))]),
            "Manual actions a person took, and actions the agent's runbooks wrote (optimiser moves are in the tables).");
        yield return (Bars(c, modes, "Safety violations", [("", r => Value(c, "safety_violations", r))], "counted in agent mode only"),
            "Writes outside the safety envelope that reached the plant (counted below the agent's guard; the baselines have no auditor: no bar).");
    }

    private static (string, Func<CompareRun, double?>) Group(CompareMetric m, string prefix, string suffix) =>
        (m.Key[prefix.Length..^suffix.Length], r => m.Value(r.Summary));

    private static double? Value(ClimateComparison c, string key, CompareRun r) => c.Metrics.First(m => m.Key == key).Value(r.Summary);

    /// <summary>Bars of the median over seeds per mode (one bar per mode in each group) with each seed as a dot.</summary>
    /// <param name="empty">What the chart says when no run measures the figure.</param>
    /// <param name="nearHundred">A percentage that sits near 100 (SLO attainment): the axis spans the values and 100, not 0 to 100.</param>
    private static Plot Bars(ClimateComparison c, IReadOnlyList<string> modes, string title, IReadOnlyList<(string Name, Func<CompareRun, double?> Value)> groups,
        string empty = "no run measured this", bool nearHundred = false)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var seeds = c.Runs.Select(r => r.Seed).Distinct().ToList();
        for (var i = 0; i < modes.Count; i++)
        {
            var positions = new List<double>();
            var medians = new List<double>();
            var dotsX = new List<double>();
            var dotsY = new List<double>();
            for (var g = 0; g < groups.Count; g++)
            {
                var x = g * (modes.Count + 1) + i;
                var values = seeds.Select(seed => groups[g].Value(c.Run(modes[i], seed))).Where(v => v is { } d && double.IsFinite(d)).Select(v => v!.Value).ToList();
                if (values.Count == 0)
                {
                    continue;
                }

                positions.Add(x);
                medians.Add(Spread.MedianOf(values));
                dotsX.AddRange(values.Select(_ => (double)x));
                dotsY.AddRange(values);
            }

            if (positions.Count == 0)
            {
                continue;
            }

            var bars = plot.Add.Bars(positions.ToArray(), medians.ToArray());
            bars.Color = palette.GetColor(i);
            if (groups.Count > 1)
            {
                bars.LegendText = modes[i];
            }

            var dots = plot.Add.ScatterPoints(dotsX.ToArray(), dotsY.ToArray());
            dots.Color = Colors.Black;
            dots.MarkerSize = 5;
        }

        if (!plot.GetPlottables().Any())
        {
            // With nothing to draw the axes have no range, and the plot would render blank without the message.
            plot.Add.Annotation(empty, Alignment.MiddleCenter);
            plot.Axes.SetLimits(-1, groups.Count * (modes.Count + 1), 0, 1);
        }

        if (groups.Count == 1)
        {
            // One figure: each bar is named for its mode under it.
            plot.Axes.Bottom.SetTicks([.. modes.Select((_, i) => (double)i)], [.. modes]);
            plot.Axes.SetLimitsX(-0.6, modes.Count - 0.4);
        }
        else
        {
            plot.Axes.Bottom.SetTicks([.. groups.Select((_, k) => k * (modes.Count + 1) + (modes.Count - 1) / 2.0)], [.. groups.Select(g => g.Name)]);
            plot.Axes.Bottom.TickLabelStyle.Rotation = 15;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
            plot.Axes.Bottom.MinimumSize = 80;
        }

        if (groups.Count > 1 && plot.GetPlottables().Any(p => p is ScottPlot.Plottables.BarPlot))
        {
            // An empty legend outside the data area breaks ScottPlot's layout (the chart renders blank).
            plot.ShowLegend(Edge.Right);
        }

        plot.Axes.Margins(bottom: 0);
        var all = plot.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().SelectMany(d => d.Data.GetScatterPoints()).Select(p => p.Y).ToList();
        if (nearHundred && all.Count > 0)
        {
            var low = Math.Min(99, all.Min());
            plot.Axes.SetLimitsY(low - (100 - low) * 0.1, 100 + (100 - low) * 0.1);
        }
        else if (all.Count > 0 && all.All(v => v == 0))
        {
            // Every run at zero (no violation, no action): an axis from 0, not one centred on it.
            plot.Axes.SetLimitsY(0, 1);
        }

        plot.Title(title);
        return plot;
    }

    private static Plot PueOverTime(ClimateComparison c, IReadOnlyList<string> modes)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < modes.Count; i++)
        {
            var runs = c.Runs.Where(r => r.Mode == modes[i]).ToList();
            var hours = runs.Min(r => r.HourlyPue.Count);
            var median = Enumerable.Range(0, hours).Select(h => Spread.MedianOf(runs.Select(r => r.HourlyPue[h]).Where(double.IsFinite))).ToArray();
            var line = plot.Add.Scatter(Enumerable.Range(0, hours).Select(h => h + 0.5).ToArray(), median);
            line.Color = palette.GetColor(i);
            line.LegendText = modes[i];
            line.LineWidth = 2;
            line.MarkerSize = hours > 48 ? 0 : 5;
        }

        plot.Axes.Bottom.Label.Text = "hours since the start";
        plot.Axes.Left.Label.Text = "PUE";
        plot.Title("PUE over time");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static Plot AcrossClimates(CompareReport report)
    {
        var names = report.Climates.Select(c => c.Name).ToList();
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var baselines = report.Climates[0].Savings.Keys.ToList();
        for (var i = 0; i < baselines.Count; i++)
        {
            var spreads = report.Climates.Select(c => c.Savings[baselines[i]]["overhead_energy_kwh"]).ToList();
            var xs = Enumerable.Range(0, names.Count).Select(k => k * (baselines.Count + 1.0) + i).ToArray();
            var bars = plot.Add.Bars(xs, spreads.Select(s => s?.Median ?? 0).ToArray());
            bars.Color = palette.GetColor(i);
            bars.LegendText = $"agent vs {baselines[i]}";
            var dots = plot.Add.ScatterPoints(
                spreads.SelectMany((s, k) => (s?.PerSeed ?? []).Select(_ => xs[k])).ToArray(),
                spreads.SelectMany(s => (s?.PerSeed ?? []).Select(p => p.Value)).ToArray());
            dots.Color = Colors.Black;
            dots.MarkerSize = 5;
        }

        plot.Axes.Bottom.SetTicks([.. names.Select((_, k) => k * (baselines.Count + 1.0) + (baselines.Count - 1) / 2.0)], [.. names]);
        plot.Axes.Left.Label.Text = "overhead energy saved (%)";
        plot.Title("Overhead energy saved by the agent, per climate");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static void SavingsTable(StringBuilder html, ClimateComparison c, string baseline)
    {
        var seeds = c.Runs.Select(r => r.Seed).Distinct().ToList();
        html.Append("<table>\n<tr><th>figure</th><th>median</th><th>min</th><th>max</th>");
        seeds.ForEach(s => html.Append(CultureInfo.InvariantCulture, $"<th>seed {s}</th>"));
        html.Append("</tr>\n");
        foreach (var m in c.Metrics.Where(m => m.Saving != SavingKind.None))
        {
            var unit = CompareMetrics.SavingUnit(m);
            var format = m.Saving == SavingKind.Percent ? "0.0" : m.Format;
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{Esc(m.Label)}{(unit.Length > 0 ? $" ({Esc(unit)})" : "")}</td>");
            if (c.Savings[baseline][m.Key] is not { } s)
            {
                html.Append(CultureInfo.InvariantCulture, $"<td colspan=\"{3 + seeds.Count}\">not measured in both modes</td></tr>\n");
                continue;
            }

            foreach (var v in new[] { s.Median, s.Min, s.Max }.Concat(seeds.Select(seed => s.PerSeed.FirstOrDefault(p => p.Key == seed).Value)))
            {
                var css = v > 0 ? "better" : v < 0 ? "worse" : "";
                html.Append(CultureInfo.InvariantCulture, $"<td class=\"{css}\">{CompareMetrics.Show(v, format)}</td>");
            }

            html.Append("</tr>\n");
        }

        html.Append("</table>\n");
    }

    private static void ModesTable(StringBuilder html, CompareReport report, ClimateComparison c)
    {
        html.Append("<table>\n<tr><th>figure</th>");
        foreach (var mode in report.Modes)
        {
            html.Append(CultureInfo.InvariantCulture, $"<th>{Esc(mode)} median</th><th>{Esc(mode)} min - max</th><th>{Esc(mode)} per seed</th>");
        }

        html.Append("</tr>\n");
        foreach (var m in c.Metrics)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{Esc(m.Label)}{(m.Unit.Length > 0 ? $" ({Esc(m.Unit)})" : "")}</td>");
            foreach (var mode in report.Modes)
            {
                if (c.Aggregates[mode][m.Key] is not { } s)
                {
                    html.Append("<td>n/a</td><td></td><td></td>");
                    continue;
                }

                var perSeed = string.Join(", ", s.PerSeed.Select(p => $"{p.Key}: {CompareMetrics.Show(p.Value, m.Format)}"));
                html.Append(CultureInfo.InvariantCulture, $"<td>{CompareMetrics.Show(s.Median, m.Format)}</td><td>{CompareMetrics.Show(s.Min, m.Format)} - {CompareMetrics.Show(s.Max, m.Format)}</td><td>{Esc(perSeed)}</td>");
            }

            html.Append("</tr>\n");
        }

        html.Append("</table>\n");
    }

    private static void Chart(StringBuilder html, Plot plot, string caption)
    {
        // The page's length so far names the chart's ids: unique on the page, and the same on every run.
        var chart = html.Length.ToString(CultureInfo.InvariantCulture);
        html.Append("<figure>\n").Append(InlineSvg(PlotGrid.Svg([plot], OneChart), $"c{chart}-")).Append(CultureInfo.InvariantCulture, $"\n<figcaption>{Esc(caption)}</figcaption>\n</figure>\n");
    }

    /// <summary>The SVG document as an element of the page: no XML declaration, no namespace declarations (the HTML parser
    /// puts inline SVG in its namespace, and the page then names no URL at all), a viewBox so it scales, and its ids
    /// (clip paths) numbered within the chart under <paramref name="prefix"/>: Skia numbers them across the process, so
    /// they would differ from one run of the command to the next.</summary>
    internal static string InlineSvg(string svg, string prefix)
    {
        svg = XmlDeclaration().Replace(svg, "");
        svg = NamespaceDeclaration().Replace(svg, "");
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in Id().Matches(svg))
        {
            ids.TryAdd(m.Groups["id"].Value, prefix + ids.Count.ToString(CultureInfo.InvariantCulture));
        }

        svg = IdReference().Replace(svg, m => ids.TryGetValue(m.Groups["id"].Value, out var id) ? m.Value.Replace(m.Groups["id"].Value, id, StringComparison.Ordinal) : m.Value);
        return SvgSize().Replace(svg, m => $"<svg viewBox=\"0 0 {m.Groups["w"].Value} {m.Groups["h"].Value}\"", 1).Trim();
    }

    private static string Esc(string text) => WebUtility.HtmlEncode(text);

    [GeneratedRegex(@"<\?xml[^>]*\?>")]
    private static partial Regex XmlDeclaration();

    [GeneratedRegex(@"\s+xmlns(:\w+)?=""[^""]*""")]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"\bid=""(?<id>[^""]+)""")]
    private static partial Regex Id();

    [GeneratedRegex(@"(\bid=""|url\(#|href=""#)(?<id>[^"")]+)")]
    private static partial Regex IdReference();

    [GeneratedRegex(@"<svg\s+width=""(?<w>[\d.]+)""\s+height=""(?<h>[\d.]+)""")]
    private static partial Regex SvgSize();
}
