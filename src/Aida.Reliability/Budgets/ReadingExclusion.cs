using System.Globalization;
using System.Text;
using Aida.Reliability.OpenSlo;
using Aida.Telemetry.PromQL;
using Aida.Telemetry.Series;

namespace Aida.Reliability.Budgets;

/// <summary>One reading left out of the time-slice SLIs that read it over a span: a sensor diagnosed lying (stuck,
/// missing, scattering, drifting), whose slices say nothing about the plant. A status correction, as SLO tools call
/// it, scoped to one series: the other racks' or CDUs' slices still count.</summary>
/// <param name="Series">The reading: its metric name and every label of the series.</param>
/// <param name="From">When it stopped being trusted.</param>
/// <param name="Until">When it was trusted again; null while it is not.</param>
/// <param name="Reason">Why (the incident that named it).</param>
public sealed record ReadingExclusion(Labels Series, DateTimeOffset From, DateTimeOffset? Until, string Reason)
{
    /// <summary>An exclusion of the reading a PromQL selector names with <c>=</c> matchers only
    /// (<c>aida_rack_inlet_celsius{rack="h2-b04"}</c>): those labels are the ones matched.</summary>
    /// <exception cref="ArgumentException">The selector does not parse, matches otherwise than by <c>=</c>, names no
    /// metric or no label, or the span is empty; the message says which.</exception>
    public static ReadingExclusion Of(string selector, DateTimeOffset from, DateTimeOffset? until, string reason)
    {
        VectorSelector parsed;
        try
        {
            parsed = Parser.ParseSelector(selector);
        }
        catch (Aida.Telemetry.Query.QueryException e)
        {
            throw new ArgumentException($"'{selector}': {e.Message}", e);
        }

        if (parsed.Name is null || parsed.Matchers.Any(m => m.Type != MatcherType.Equal))
        {
            throw new ArgumentException($"'{selector}': name the metric and the reading with = matchers only (a reading is one series)");
        }

        if (parsed.Matchers.FirstOrDefault(m => m.Value.Length == 0) is { } empty)
        {
            throw new ArgumentException($"'{selector}': {empty.Name}=\"\" matches every series without the label; give it a value");
        }

        var exclusion = new ReadingExclusion(Labels.From(parsed.Matchers.Select(m => KeyValuePair.Create(m.Name, m.Value))), from, until, reason);
        return exclusion.Problem() is { } problem ? throw new ArgumentException(problem) : exclusion;
    }

    /// <summary>Checks the exclusion; returns what is wrong with it, or null.</summary>
    public string? Problem()
    {
        if (string.IsNullOrEmpty(Series.MetricName))
        {
            return $"reading exclusion {Series}: no metric name";
        }

        if (Series.Count < 2)
        {
            return $"reading exclusion {Series}: no label names the series (a whole metric is not one reading)";
        }

        return Until is { } until && until <= From
            ? $"reading exclusion {Series}: until {until:O} is not after from {From:O}"
            : null;
    }
}

/// <summary>Applies <see cref="ReadingExclusion"/>s to SLOs: the SLI's query drops the excluded series over their
/// spans, so a slice of a left-out reading counts neither as good nor in the total. The correction is PromQL in the
/// SLI's own query, so every evaluation (budgets, burn rates, the run's summary, its alerts) reads the same slices.</summary>
/// <remarks>
/// <para>A time-slice SLI <c>q</c> becomes <c>(q) unless on(l1, …) (x1) unless on(…) (x2) …</c>, one term per
/// exclusion, where <c>x</c> is a single series with the reading's labels that exists only at slice ends within its
/// span: <c>vector(time()) &gt; from</c> (and <c>&lt; until + slice</c>) with the labels set by <c>label_replace</c>.
/// A slice ending at T holds (T − slice, T], so it is left out when that overlaps [from, until).</para>
/// <para>Only SLOs whose SLI selects the reading's metric are corrected, and only series of the SLI that keep the
/// reading's labels are left out: an SLI that aggregates the reading away (<c>max by (hall) (…)</c>) is not changed.
/// Ratio SLIs are not corrected: their events are sums over every series.</para>
/// </remarks>
public static class SloCorrections
{
    /// <summary>Whether <paramref name="slo"/> is a time-slice SLO whose SLI reads <paramref name="metric"/>.</summary>
    public static bool Reads(SloDefinition slo, string metric) =>
        slo.Sli.Threshold is { } t && PromQLEngine.MetricNames(t.Metric.Query).Contains(metric, StringComparer.Ordinal);

    /// <summary>The exclusions of <paramref name="exclusions"/> that apply to <paramref name="slo"/>, in the order given.</summary>
    public static IReadOnlyList<ReadingExclusion> For(SloDefinition slo, IEnumerable<ReadingExclusion> exclusions) =>
        [.. exclusions.Where(x => Reads(slo, x.Series.MetricName))];

    /// <summary><paramref name="slo"/> with <paramref name="exclusions"/> applied to its SLI (itself when none applies).</summary>
    /// <exception cref="ArgumentException">An exclusion is malformed (<see cref="ReadingExclusion.Problem"/>).</exception>
    public static SloDefinition Apply(SloDefinition slo, IEnumerable<ReadingExclusion> exclusions)
    {
        var suffix = Suffix(slo, exclusions);
        if (suffix.Length == 0)
        {
            return slo;
        }

        var metric = slo.Sli.Threshold!.Metric;
        return slo with { Sli = slo.Sli with { Threshold = new ThresholdMetric(metric with { Query = $"({metric.Query}){suffix}" }) } };
    }

    /// <summary>The <c>unless</c> terms <see cref="Apply"/> appends to <paramref name="slo"/>'s SLI (empty when none
    /// applies): equal for equal corrections, so a caller can tell when its corrected SLO must be rebuilt.</summary>
    public static string Suffix(SloDefinition slo, IEnumerable<ReadingExclusion> exclusions)
    {
        var text = new StringBuilder();
        var slice = (slo.Objective.TimeSliceWindow ?? TimeSpan.FromMinutes(1)).TotalSeconds;
        foreach (var x in For(slo, exclusions))
        {
            if (x.Problem() is { } problem)
            {
                throw new ArgumentException(problem, nameof(exclusions));
            }

            var names = new List<string>();
            var span = $"vector(time()) > {Seconds(x.From)}" + (x.Until is { } until ? $" < {Number(until.ToUnixTimeMilliseconds() / 1000.0 + slice)}" : "");
            var labelled = span;
            for (var i = 0; i < x.Series.Count; i++)
            {
                var name = x.Series.Name(i);
                if (name == Labels.MetricNameLabel)
                {
                    continue;
                }

                names.Add(name);
                labelled = $"label_replace({labelled}, \"{name}\", \"{Quote(x.Series.Value(i).Replace("$", "$$", StringComparison.Ordinal))}\", \"\", \"\")";
            }

            text.Append($" unless on({string.Join(", ", names)}) ({labelled})");
        }

        return text.ToString();
    }

    private static string Seconds(DateTimeOffset t) => Number(t.ToUnixTimeMilliseconds() / 1000.0);

    private static string Number(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Quote(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
