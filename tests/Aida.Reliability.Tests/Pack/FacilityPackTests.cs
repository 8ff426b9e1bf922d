using Aida.Model.Config;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Reliability.Runs;
using Aida.Telemetry.Query;
using Aida.Telemetry.Storage;

namespace Aida.Reliability.Tests.Pack;

/// <summary>The facility SLO pack shipped in <c>slos/</c>.</summary>
public sealed class FacilityPackTests
{
    private static string[] Files()
    {
        var files = Directory.GetFiles(Path.Combine(BundledFiles.Root!, "slos"), "*.yaml");
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }

    [Fact]
    public void Loads_WithTheDocumentedObjectives()
    {
        var set = SloLoader.Load(Files());
        var objectives = set.Slos.ToDictionary(s => s.Name, s => s.Objective.Target);
        Assert.Equal(new Dictionary<string, double>
        {
            ["cdu-supply-class"] = 0.999,
            ["gpu-throttle-free"] = 0.999,
            ["it-power-availability"] = 0.99995,
            ["power-redundancy"] = 0.999,
            ["rack-inlet-envelope"] = 0.999,
            ["training-goodput"] = 0.995,
            ["training-thermal-goodput"] = 0.995,
        }, objectives);
        Assert.Equal(new Dictionary<string, RiskDomains>
        {
            ["cdu-supply-class"] = RiskDomains.Cooling,
            ["gpu-throttle-free"] = RiskDomains.Cooling,
            ["it-power-availability"] = RiskDomains.Power,
            ["power-redundancy"] = RiskDomains.Power,
            ["rack-inlet-envelope"] = RiskDomains.Cooling,
            ["training-goodput"] = RiskDomains.None,
            ["training-thermal-goodput"] = RiskDomains.Cooling,
        }, set.Slos.ToDictionary(s => s.Name, s => s.RiskDomains));
        Assert.All(set.Slos, s =>
        {
            Assert.Equal(TimeSpan.FromDays(28), s.Window.NominalLength);
            Assert.Equal([14.4, 6, 1], s.AlertConditions.Select(c => c.Threshold));
        });
        Assert.Equal(3, set.Services.Count);
    }

    [Fact]
    public async Task EveryQueryItEvaluates_ParsesAndRuns()
    {
        // The error ratios (every window) and the per-minute event queries, on an empty store: a query that does not
        // parse or cannot run throws.
        var at = new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
        using var store = new Tsdb(new TsdbOptions { Retention = TimeSpan.FromDays(3650) });
        var engine = new EmbeddedQueryEngine(store);
        var set = SloLoader.Load(Files());
        var queries = 0;
        foreach (var slo in set.Slos)
        {
            foreach (var window in SloEvaluator.BurnWindows(slo).Append(slo.Window.NominalLength))
            {
                await engine.QueryAsync(SliQueries.ErrorRatio(slo, window), at);
                queries++;
            }

            var (bad, total) = RunSloEvaluator.MinuteQueries(slo);
            await engine.QueryRangeAsync(bad.Promql, at, at + TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1));
            await engine.QueryRangeAsync(total.Promql, at, at + TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1));
            queries += 2;
        }

        Assert.Equal(7 * 8, queries);
    }
}
