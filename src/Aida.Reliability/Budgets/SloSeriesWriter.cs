using Aida.Reliability.OpenSlo;
using Aida.Reliability.Policy;
using Aida.Telemetry.Series;

namespace Aida.Reliability.Budgets;

/// <summary>Writes each evaluation of the SLOs into the run's telemetry store as series, so their history is kept with
/// the rest (the dashboard's burn-down chart, <c>aida query</c>) and goes where the rest goes (remote write, the Prometheus
/// API), as Sloth's and Pyrra's recording rules give Prometheus:
/// <list type="bullet">
/// <item><c>aida_slo_objective_ratio{slo,service}</c>: the objective (0.999);</item>
/// <item><c>aida_slo_attainment_ratio{slo,service}</c>: the SLI attained over the SLO's window;</item>
/// <item><c>aida_slo_error_budget_remaining_ratio{slo,service}</c>: the budget left, 1 whole, below 0 overspent;</item>
/// <item><c>aida_slo_burn_rate{slo,service,window}</c>: the burn rate over each alerting window (1 spends the budget
/// exactly over the SLO's window);</item>
/// <item><c>aida_efficiency_headroom_ratio{domain}</c> (cooling, power) and <c>aida_efficiency_regime{domain,regime}</c>
/// (1 for the regime the policy grants, expand, hold or freeze).</item>
/// </list>
/// An SLO with no data in its window writes no attainment, budget or burn rate, and what it wrote before is marked stale:
/// no data is not 100 %.</summary>
public sealed class SloSeriesWriter(ISampleAppender store, string site)
{
    private readonly RecordedSeries _recorded = new(store, site);

    /// <summary>Records one evaluation, stamped <paramref name="at"/>.</summary>
    /// <returns>How many samples were stored.</returns>
    public int Write(DateTimeOffset at, IReadOnlyList<SloStatus> statuses, EfficiencyEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        ArgumentNullException.ThrowIfNull(envelope);
        var ms = at.ToUnixTimeMilliseconds();
        var written = 0;
        foreach (var s in statuses)
        {
            (string, string)[] slo = [("slo", s.Name), ("service", s.Service)];
            written += Put("aida_slo_objective_ratio", slo, ms, s.Objective);
            if (!s.HasData)
            {
                // Its budget reads whole with nothing counted; recorded so, it would draw as 100 %.
                continue;
            }

            written += Put("aida_slo_attainment_ratio", slo, ms, s.Attained);
            written += Put("aida_slo_error_budget_remaining_ratio", slo, ms, s.BudgetRemaining);
            foreach (var (window, rate) in s.BurnRates)
            {
                written += Put("aida_slo_burn_rate", [.. slo, ("window", SliQueries.FormatDuration(window))], ms, rate);
            }
        }

        foreach (var (domain, regime, headroom) in new[] { ("cooling", envelope.Regime, envelope.Headroom), ("power", envelope.PowerVerdict.Regime, envelope.PowerVerdict.Headroom) })
        {
            written += Put("aida_efficiency_headroom_ratio", [("domain", domain)], ms, headroom);
            foreach (var each in Enum.GetValues<EfficiencyRegime>())
            {
                written += Put("aida_efficiency_regime", [("domain", domain), ("regime", each.ToString().ToLowerInvariant())], ms, each == regime ? 1 : 0);
            }
        }

        _recorded.EndTick(ms);
        return written;
    }

    private int Put(string name, (string Name, string Value)[] labels, long ms, double value) =>
        double.IsFinite(value) && _recorded.Put(name, labels, ms, value) ? 1 : 0;
}
