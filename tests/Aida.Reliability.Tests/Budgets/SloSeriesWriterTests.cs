using Aida.Reliability.Budgets;
using Aida.Reliability.Policy;
using Aida.Telemetry.Query;
using Aida.Telemetry.Storage;

namespace Aida.Reliability.Tests.Budgets;

/// <summary>Each evaluation of the SLOs recorded as series: what the budgets page and <c>/api/slos</c> show, read back
/// with PromQL, and no data never recorded as a whole budget.</summary>
public sealed class SloSeriesWriterTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.Parse("2025-07-01T03:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static SloStatus Status(string name, double errorRatio, double burn5m) => new(
        name, "facility-cooling", At, 0.999, TimeSpan.FromDays(28), new ErrorBudget(0.999, errorRatio),
        new Dictionary<TimeSpan, double> { [TimeSpan.FromMinutes(5)] = burn5m, [TimeSpan.FromHours(1)] = burn5m / 2 }, null, []);

    [Fact]
    public async Task AnEvaluation_ReadsBackAsItsStatuses_AndTheEnvelopesRegimes()
    {
        using var store = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var writer = new SloSeriesWriter(store, "leesburg-va");
        var statuses = new[] { Status("cdu-supply-class", 0.0004, 3), Status("rack-inlet-envelope", 0, 0) };
        var envelope = EfficiencyPolicy.Evaluate(BudgetState.From(statuses));

        // Each SLO: objective, attainment, budget left, two burn rates; each domain: headroom and a flag per regime (3).
        Assert.Equal((2 * 5) + (2 * 4), writer.Write(At, statuses, envelope));

        var read = new EmbeddedQueryEngine(store);
        Assert.Equal(0.6, await One(read, "aida_slo_error_budget_remaining_ratio{slo=\"cdu-supply-class\",service=\"facility-cooling\",site=\"leesburg-va\"}"), 9);
        Assert.Equal(0.9996, await One(read, "aida_slo_attainment_ratio{slo=\"cdu-supply-class\"}"), 9);
        Assert.Equal(0.999, await One(read, "aida_slo_objective_ratio{slo=\"rack-inlet-envelope\"}"));
        Assert.Equal(3, await One(read, "aida_slo_burn_rate{slo=\"cdu-supply-class\",window=\"5m\"}"));
        Assert.Equal(1.5, await One(read, "aida_slo_burn_rate{slo=\"cdu-supply-class\",window=\"1h\"}"));
        Assert.Equal(envelope.Headroom, await One(read, "aida_efficiency_headroom_ratio{domain=\"cooling\"}"));
        var regime = envelope.Regime.ToString().ToLowerInvariant();
        Assert.Equal(1, await One(read, $"aida_efficiency_regime{{domain=\"cooling\",regime=\"{regime}\"}}"));
        Assert.Equal(1, await One(read, "sum(aida_efficiency_regime{domain=\"power\"})"));
    }

    [Fact]
    public async Task AnSloWithNoData_RecordsNoBudget_AndWhatItRecordedBeforeGoesStale()
    {
        using var store = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var writer = new SloSeriesWriter(store, "leesburg-va");
        var before = new[] { Status("cdu-supply-class", 0.0004, 3) };
        writer.Write(At, before, EfficiencyPolicy.Evaluate(BudgetState.From(before)));

        // A minute on its collectors are down: nothing in the window. Its budget would read 100 % with nothing counted.
        var later = At.AddMinutes(1);
        var none = new[] { Status("cdu-supply-class", double.NaN, double.NaN) with { At = later } };
        writer.Write(later, none, EfficiencyPolicy.Evaluate(BudgetState.From(none)));

        var read = new EmbeddedQueryEngine(store);
        Assert.Empty((await read.QueryAsync("aida_slo_error_budget_remaining_ratio", later)).Series);
        Assert.Empty((await read.QueryAsync("aida_slo_burn_rate", later)).Series);
        Assert.Equal(0.999, Assert.Single((await read.QueryAsync("aida_slo_objective_ratio", later)).Series).Samples[^1].Value);
        // Before it went, it was recorded as it was.
        Assert.Equal(0.6, Assert.Single((await read.QueryAsync("aida_slo_error_budget_remaining_ratio", At)).Series).Samples[^1].Value, 9);
    }

    private static async Task<double> One(EmbeddedQueryEngine read, string query) => Assert.Single((await read.QueryAsync(query, At)).Series).Samples[^1].Value;
}
