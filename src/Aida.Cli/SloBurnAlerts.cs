using Aida.Observability.Incidents;
using Aida.Reliability.Alerting;
using Aida.Reliability.OpenSlo;
using Aida.Telemetry.PromQL;
using Aida.Telemetry.Query;

namespace Aida.Cli;

/// <summary>SLO burn-rate alerts (error budgets) as alerts incidents fold (observability): raised where the budget burns
/// most (or on the SLO's name), a page as critical and a ticket as a warning, with the metrics the SLI reads, by which the fold finds the incident
/// whose symptoms burn the budget (<see cref="IncidentFold"/>).</summary>
internal static class SloBurnAlerts
{
    /// <summary>The alert, raised on the asset of the series burning most (<see cref="SloAlert.Worst"/>: its <c>asset</c>
    /// label, else its rack, else its hall), or on the SLO's name when that is not known.</summary>
    public static Alert From(SloAlert alert, SloDefinition slo) =>
        new(alert.AlertName, AlertSource.SloBurn, alert.Worst is { } w ? w.Get("asset") ?? w.Get("rack") ?? w.Get("hall") ?? slo.Name : slo.Name, alert.StartsAt,
            alert.Worst is { } worst ? $"{alert.Summary}; burning most: {worst}" : alert.Summary)
        {
            Severity = alert.Severity == "page" ? "critical" : "warning",
            Reads = Reads(slo),
            Series = alert.Worst,
        };

    /// <summary>The metrics the SLO's SLI queries select.</summary>
    public static IReadOnlyList<string> Reads(SloDefinition slo)
    {
        var queries = slo.Sli.Ratio is { } r ? new[] { r.Good, r.Bad, r.Total } : [slo.Sli.Threshold?.Metric];
        var names = new List<string>();
        foreach (var q in queries.OfType<MetricQuery>())
        {
            try
            {
                names.AddRange(PromQLEngine.MetricNames(q.Query.Replace(SliQueries.WindowPlaceholder, "1m", StringComparison.Ordinal)).Where(n => !names.Contains(n)));
            }
            catch (QueryException)
            {
                // A query the loader accepted but this engine cannot parse reads nothing the fold can match on.
            }
        }

        return names;
    }
}
