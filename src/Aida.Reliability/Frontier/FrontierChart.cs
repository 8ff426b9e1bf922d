using System.Globalization;
using Aida.Reliability.Charts;
using ScottPlot;

namespace Aida.Reliability.Frontier;

/// <summary>Draws a frontier report: PUE and facility energy against the setting, and, once SLOs are evaluated, PUE
/// against the error budget each SLO consumed (the price of efficiency in reliability).</summary>
internal static class FrontierChart
{
    /// <summary>Four panels of 800 x 520 pixels, two to a row.</summary>
    private static readonly PlotGrid.Layout Grid = new(800, 520, 2);

    public static void SavePng(FrontierReport report, string path) => PlotGrid.SavePng(Panels(report), Grid, path);

    public static void SaveSvg(FrontierReport report, string path) => PlotGrid.SaveSvg(Panels(report), Grid, path);

    private static List<Plot> Panels(FrontierReport report)
    {
        var panels = new List<Plot> { EfficiencyPanel(report), TemperaturePanel(report) };
        if (report.SloNames.Count > 0)
        {
            panels.Add(BudgetPanel(report, "PUE", q => q.Pue));
            panels.Add(BudgetPanel(report, "facility energy (MWh)", q => q.FacilityEnergyKwh / 1000));
        }

        return panels;
    }

    private static Plot EfficiencyPanel(FrontierReport report)
    {
        var p = report.Sweep.Parameter;
        var plot = new Plot();
        Line(plot, report, "PUE (left)", q => q.Pue);
        var energy = Line(plot, report, "facility energy, MWh (right)", q => q.FacilityEnergyKwh / 1000);
        energy.LinePattern = LinePattern.Dashed;
        energy.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Bottom.Label.Text = $"{p.Description} ({p.Unit})";
        plot.Axes.Left.Label.Text = "PUE";
        plot.Axes.Right.Label.Text = "facility energy (MWh)";
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"{report.Scenario}, mode {report.Mode}, {report.Duration.TotalHours:0.#} h per point, seed {report.Seed}"));
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static Plot TemperaturePanel(FrontierReport report)
    {
        var p = report.Sweep.Parameter;
        var plot = new Plot();
        var inlet = Line(plot, report, "hottest rack inlet", q => q.MaxRackInletCelsius);
        var gpu = Line(plot, report, "hottest GPU", q => q.MaxGpuTemperatureCelsius);

        // The limits the pack holds them to: ASHRAE's recommended inlet and the GPUs' slowdown temperature.
        var inletLimit = plot.Add.HorizontalLine(27);
        inletLimit.LinePattern = LinePattern.Dotted;
        inletLimit.Color = inlet.Color;
        inletLimit.LegendText = "27 °C inlet (ASHRAE recommended)";
        var slowdown = plot.Add.HorizontalLine(87);
        slowdown.LinePattern = LinePattern.Dotted;
        slowdown.Color = gpu.Color;
        slowdown.LegendText = "87 °C GPU slowdown";
        plot.Axes.Bottom.Label.Text = $"{p.Description} ({p.Unit})";
        plot.Axes.Left.Label.Text = "°C";
        plot.Title("How hot the plant ran");
        plot.ShowLegend(Alignment.MiddleRight);
        return plot;
    }

    private static Plot BudgetPanel(FrontierReport report, string what, Func<FrontierPoint, double> value)
    {
        var p = report.Sweep.Parameter;
        var plot = new Plot();
        foreach (var name in report.SloNames)
        {
            // Budget consumed spans orders of magnitude across a sweep: a log axis, with 0.01 % standing in for none.
            var xs = report.Points.Select(q => LogPercent(q.Slos.First(s => s.Name == name).BudgetConsumed)).ToArray();
            var line = plot.Add.Scatter(xs, report.Points.Select(value).ToArray());
            line.LegendText = name;
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }

        // Each point of the SLO that consumed most at the warmest setting is labelled with its setting.
        var labelled = report.SloNames.MaxBy(n => report.Points[^1].Slos.First(s => s.Name == n).BudgetConsumed)!;
        foreach (var q in report.Points)
        {
            var label = plot.Add.Text(q.Setting.ToString("0.##", CultureInfo.InvariantCulture) + " " + p.Unit, LogPercent(q.Slos.First(s => s.Name == labelled).BudgetConsumed), value(q));
            label.LabelFontSize = 10;
            label.LabelOffsetX = 4;
            label.LabelOffsetY = -14;
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = v => Math.Pow(10, v).ToString(Math.Pow(10, v) < 1 ? "0.##" : "#,0", CultureInfo.InvariantCulture) + " %",
            IntegerTicksOnly = true,
        };
        plot.Axes.Bottom.Label.Text = "share of the window's error budget the run spent (log; 0.01 % = none)";
        plot.Axes.Left.Label.Text = what;
        plot.Title($"{what} against budget consumed, per SLO");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>A line with markers of one figure against the setting.</summary>
    private static ScottPlot.Plottables.Scatter Line(Plot plot, FrontierReport report, string legend, Func<FrontierPoint, double> value)
    {
        var line = plot.Add.Scatter(report.Points.Select(q => q.Setting).ToArray(), report.Points.Select(value).ToArray());
        line.LegendText = legend;
        line.LineWidth = 2;
        line.MarkerSize = 8;
        return line;
    }

    private static double LogPercent(double fraction) => Math.Log10(Math.Max(double.IsFinite(fraction) ? fraction * 100 : 0, 0.01));
}
