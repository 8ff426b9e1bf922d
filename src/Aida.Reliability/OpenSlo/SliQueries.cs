using System.Globalization;
using Aida.Telemetry.PromQL;

namespace Aida.Reliability.OpenSlo;

/// <summary>The PromQL that measures an SLO: its error ratio over a window, the same text whether Aida evaluates it or a
/// Prometheus records it from exported rules, so both give the same numbers.</summary>
/// <remarks>
/// Ratio SLIs: <c>bad / total</c> events in the window, with bad either the <c>bad</c> query or <c>total - good</c>.
/// A query that is a plain selector is wrapped in <c>increase(q[W])</c> (counters) or <c>sum_over_time(q[W])</c>; a query
/// with Sloth's <c>{{.window}}</c> placeholder is used as written with the window put in; either is summed over all
/// series. Time-slice SLIs: each series' value at each slice end (a subquery <c>[W:slice]</c>, aligned to multiples of
/// the slice as Prometheus aligns subqueries) is compared with the threshold (<c>op bool value</c>); the error ratio is
/// the bad slices over all slices, counted over every series (rack-minutes, GPU-minutes).
/// </remarks>
public static class SliQueries
{
    /// <summary>Sloth's placeholder for the range of a ratio query, replaced by the window (e.g. <c>5m</c>).</summary>
    public const string WindowPlaceholder = "{{.window}}";

    /// <summary>A PromQL expression whose single value is the fraction of bad events or slices over <paramref name="window"/>
    /// (NaN, or no result, when there were none).</summary>
    public static string ErrorRatio(SloDefinition slo, TimeSpan window)
    {
        var w = FormatDuration(window);
        if (slo.Sli.Ratio is { } ratio)
        {
            var total = Events(ratio.Total, ratio.Counter, w);
            var bad = ratio.Bad is { } b ? Events(b, ratio.Counter, w) : $"({total} - {Events(ratio.Good!, ratio.Counter, w)})";
            return $"{bad} / {total}";
        }

        var threshold = slo.Sli.Threshold!;
        var good = GoodSlices(threshold.Metric.Query, slo.Objective);
        var slice = FormatDuration(slo.Objective.TimeSliceWindow ?? TimeSpan.FromMinutes(1));
        var count = $"sum(count_over_time(({good})[{w}:{slice}]))";
        return $"({count} - sum(sum_over_time(({good})[{w}:{slice}]))) / {count}";
    }

    /// <summary>The per-series 0/1 expression: 1 where a slice meets the objective.</summary>
    internal static string GoodSlices(string query, SloObjective objective)
    {
        var op = objective.Operator switch
        {
            ThresholdOperator.LessThan => "<",
            ThresholdOperator.LessThanOrEqual => "<=",
            ThresholdOperator.GreaterThan => ">",
            _ => ">=",
        };
        return $"({query}) {op} bool {FormatNumber(objective.Value ?? 0)}";
    }

    private static string Events(MetricQuery q, bool counter, string w)
    {
        if (q.IsWindowTemplate)
        {
            return $"sum({q.Query.Replace(WindowPlaceholder, w, StringComparison.Ordinal)})";
        }

        return counter ? $"sum(increase({q.Query}[{w}]))" : $"sum(sum_over_time({q.Query}[{w}]))";
    }

    /// <summary>Checks that a query parses as PromQL and, unless it has the window placeholder, is a selector that can
    /// take a range; returns the problem, or null.</summary>
    internal static string? Check(MetricQuery q, bool needsSelector)
    {
        try
        {
            if (q.IsWindowTemplate)
            {
                Parser.Parse(q.Query.Replace(WindowPlaceholder, "5m", StringComparison.Ordinal));
            }
            else if (needsSelector)
            {
                Parser.ParseSelector(q.Query);
            }
            else
            {
                Parser.Parse(q.Query);
            }

            return null;
        }
        catch (Aida.Telemetry.Query.QueryException e)
        {
            var problem = e.Message;
            if (needsSelector && !q.IsWindowTemplate && problem.Contains("expected a vector selector", StringComparison.Ordinal))
            {
                return $"'{q.Query}' is not a series selector; write a selector (e.g. metric{{label=\"x\"}}) or use {WindowPlaceholder} for the range";
            }

            return $"PromQL does not parse: {problem}";
        }
    }

    /// <summary>A duration as Prometheus writes it, in the largest whole unit: <c>30d</c>, <c>6h</c>, <c>5m</c>, <c>90s</c>.</summary>
    public static string FormatDuration(TimeSpan d)
    {
        var ms = (long)d.TotalMilliseconds;
        if (ms > 0 && ms % 86_400_000 == 0)
        {
            return (ms / 86_400_000).ToString(CultureInfo.InvariantCulture) + "d";
        }

        if (ms > 0 && ms % 3_600_000 == 0)
        {
            return (ms / 3_600_000).ToString(CultureInfo.InvariantCulture) + "h";
        }

        if (ms > 0 && ms % 60_000 == 0)
        {
            return (ms / 60_000).ToString(CultureInfo.InvariantCulture) + "m";
        }

        return ms % 1000 == 0 ? (ms / 1000).ToString(CultureInfo.InvariantCulture) + "s" : ms.ToString(CultureInfo.InvariantCulture) + "ms";
    }

    internal static string FormatNumber(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
