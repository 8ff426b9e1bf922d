using System.Globalization;
using System.Text;
using System.Text.Json;
using Aida.Reliability.Alerting;
using Aida.Reliability.OpenSlo;

namespace Aida.Reliability.Rules;

/// <summary>Writes Prometheus recording and alerting rules for SLOs, for sites that evaluate them in their own
/// Prometheus: one recorded error ratio per SLO and window (as Sloth and Pyrra do) and one multi-window burn-rate alert
/// per condition, with the thresholds Aida's own monitor uses.</summary>
/// <remarks>
/// Recorded series: <c>slo:sli_error:ratio_rate&lt;window&gt;{slo, service}</c>, the expression of
/// <see cref="SliQueries.ErrorRatio"/>; for every condition's long and short windows and the SLO window (a calendar
/// window is recorded as a rolling one of its nominal length: Prometheus has no calendar). Alerts:
/// <c>ratio_long / (1 - target) &gt;= threshold and ratio_short / (1 - target) &gt;= threshold</c>, named
/// <see cref="AlertNames.For"/>, labels <c>slo service severity condition</c>, <c>for</c> = <c>alertAfter</c>, for each of
/// <see cref="SloDefinition.BreachConditions"/>; and for an
/// SLO whose policy sets <c>alertWhenNoData</c>, <see cref="AlertNames.NoData"/> when the ratio over
/// <see cref="SloDefinition.NoDataCondition"/>'s short window is absent or NaN.
/// </remarks>
public static class PrometheusRuleExporter
{
    /// <summary>The recorded series name of the error ratio over <paramref name="window"/>.</summary>
    public static string RecordName(TimeSpan window) => "slo:sli_error:ratio_rate" + SliQueries.FormatDuration(window);

    /// <summary>The windows recorded for <paramref name="slo"/>: its conditions' windows and its own.</summary>
    public static IReadOnlyList<TimeSpan> RecordedWindows(SloDefinition slo)
    {
        var windows = new SortedSet<TimeSpan> { slo.Window.NominalLength };
        foreach (var c in slo.AlertConditions)
        {
            windows.Add(c.LongWindow);
            windows.Add(c.ShortWindow);
        }

        return windows.ToList();
    }

    /// <summary>How many alerting rules <paramref name="slo"/> gets: one per condition people are told of, and the
    /// no-data rule when a policy asks for it.</summary>
    public static int AlertingRules(SloDefinition slo) => slo.BreachConditions.Count + (slo.NoDataCondition is null ? 0 : 1);

    /// <summary>The rule file (YAML) for every SLO of <paramref name="set"/>.</summary>
    /// <param name="header">Comment lines written at the top (e.g. the source files).</param>
    public static string Export(SloSet set, IEnumerable<string>? header = null)
    {
        var sb = new StringBuilder();
        foreach (var line in header ?? [])
        {
            sb.Append("# ").AppendLine(line);
        }

        sb.AppendLine("groups:");
        foreach (var slo in set.Slos)
        {
            var labels = new[] { ("slo", slo.Name), ("service", slo.Service) };
            sb.Append("  - name: ").AppendLine(Quote("aida-slo-" + slo.Name + "-sli"));
            sb.AppendLine("    rules:");
            foreach (var window in RecordedWindows(slo))
            {
                sb.Append("      - record: ").AppendLine(Quote(RecordName(window)));
                sb.Append("        expr: ").AppendLine(Quote(SliQueries.ErrorRatio(slo, window)));
                WriteMap(sb, "labels", labels);
            }

            if (AlertingRules(slo) == 0)
            {
                continue; // nothing to tell people of: no alerts group
            }

            sb.Append("  - name: ").AppendLine(Quote("aida-slo-" + slo.Name + "-alerts"));
            sb.AppendLine("    rules:");
            var target = SliQueries.FormatNumber(slo.Objective.Target);
            foreach (var c in slo.BreachConditions)
            {
                var selector = $"{{slo=\"{slo.Name}\"}}";
                var threshold = SliQueries.FormatNumber(c.Threshold);
                var expr = $"({RecordName(c.LongWindow)}{selector} / (1 - {target}) >= {threshold}) and " +
                    $"({RecordName(c.ShortWindow)}{selector} / (1 - {target}) >= {threshold})";
                sb.Append("      - alert: ").AppendLine(Quote(AlertNames.For(c)));
                sb.Append("        expr: ").AppendLine(Quote(expr));
                if (c.AlertAfter > TimeSpan.Zero)
                {
                    sb.Append("        for: ").AppendLine(Quote(SliQueries.FormatDuration(c.AlertAfter)));
                }

                WriteMap(sb, "labels", [.. labels, ("severity", c.Severity), ("condition", c.Name), .. NotifyResolved(slo, c)]);
                var summary = $"SLO {slo.Name} ({slo.Service}) burns its error budget at {threshold}x or more over " +
                    $"{SliQueries.FormatDuration(c.LongWindow)} and {SliQueries.FormatDuration(c.ShortWindow)}";
                var description = $"Objective {(slo.Objective.Target * 100).ToString("0.###", CultureInfo.InvariantCulture)} % over {slo.Window}; " +
                    $"burn rate over {SliQueries.FormatDuration(c.LongWindow)}: {{{{ $value | printf \"%.2f\" }}}}x";
                WriteMap(sb, "annotations", [("summary", summary), ("description", description)]);
            }

            if (slo.NoDataCondition is { } noData)
            {
                // No events in the short window: the recorded ratio is absent (no series) or NaN (0 / 0).
                var ratio = $"{RecordName(noData.ShortWindow)}{{slo=\"{slo.Name}\"}}";
                sb.Append("      - alert: ").AppendLine(Quote(AlertNames.NoData));
                sb.Append("        expr: ").AppendLine(Quote($"absent({ratio}) or ({ratio} != {ratio})"));
                if (noData.AlertAfter > TimeSpan.Zero)
                {
                    sb.Append("        for: ").AppendLine(Quote(SliQueries.FormatDuration(noData.AlertAfter)));
                }

                WriteMap(sb, "labels", [.. labels, ("severity", noData.Severity), ("condition", noData.Name), .. NotifyResolved(slo, noData)]);
                WriteMap(sb, "annotations", [
                    ("summary", SloAlert.NoDataSummary(slo.Name, slo.Service, noData.ShortWindow)),
                    ("description", "a collector, its scrape or the path to the store is down (alertWhenNoData)")]);
            }
        }

        return sb.ToString();
    }

    /// <summary>The label of an alert whose resolution people are not told (<c>alertWhenResolved: false</c>); none
    /// otherwise.</summary>
    private static (string, string)[] NotifyResolved(SloDefinition slo, BurnRateCondition condition) =>
        slo.ResolutionNotified(condition) ? [] : [(SloAlert.NotifyResolvedLabel, "false")];

    private static void WriteMap(StringBuilder sb, string name, IEnumerable<(string Key, string Value)> pairs)
    {
        sb.Append("        ").Append(name).AppendLine(":");
        foreach (var (k, v) in pairs)
        {
            sb.Append("          ").Append(k).Append(": ").AppendLine(Quote(v));
        }
    }

    // A JSON string is a valid YAML double-quoted scalar.
    private static string Quote(string text) => JsonSerializer.Serialize(text, QuoteOptions);

    private static readonly JsonSerializerOptions QuoteOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
