using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Reliability.Runs;
using Aida.Telemetry.PromQL;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Reliability.Tests.Budgets;

/// <summary>A reading diagnosed lying, left out of the time-slice SLIs that read it over a span: its slices count
/// neither as good nor in the total; every other series, and every SLO that does not read it, is as before.</summary>
public sealed class SloCorrectionsTests
{
    private static readonly DateTimeOffset End = new(2025, 7, 31, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Start = End - TimeSpan.FromDays(1);

    private static SloDefinition Inlet => SyntheticPlant.Slos.Find("rack-inlet-recommended")!;

    private static Labels Rack(int r) => Labels.From(("__name__", "slo_test_rack_inlet_celsius"), ("rack", $"r{r}"));

    [Fact]
    public async Task AHotReadingLeftOutFromBeforeItWentHot_SpendsNothing_TheOtherRacksStillCount()
    {
        // Rack r1 of four reads 29 °C for the last hour: as read, its hot slices spend the budget.
        var plant = new SyntheticPlant(Start, End, End - TimeSpan.FromHours(1), End, FaultBurnRate: 0);
        using var store = plant.Store(new FakeTimeProvider(End));
        var query = new EmbeddedQueryEngine(store);
        var evaluator = new SloEvaluator(query);
        var asRead = await evaluator.ErrorRatioAsync(Inlet, TimeSpan.FromDays(1), End);

        var leftOut = SloCorrections.Apply(Inlet, [new ReadingExclusion(Rack(1), End - TimeSpan.FromHours(2), null, "incident 1: sensor-noise on r1")]);
        var corrected = await evaluator.ErrorRatioAsync(leftOut, TimeSpan.FromDays(1), End);
        // Another rack left out instead takes its slices out of the total only.
        var otherOut = SloCorrections.Apply(Inlet, [new ReadingExclusion(Rack(2), End - TimeSpan.FromHours(2), null, "r2")]);
        var other = await evaluator.ErrorRatioAsync(otherOut, TimeSpan.FromDays(1), End);

        Assert.True(asRead > 0.009, $"as read {asRead}");
        Assert.Equal(0, corrected);
        // The day's slices are 4 racks x 1,441 slice ends; r2's 120 in the 2 h (slice ends after from, up to the end)
        // leave the total, and the bad ones stay.
        var slices = 4.0 * 1441;
        Assert.Equal(asRead * slices / (slices - 120), other, 12);
    }

    [Fact]
    public async Task AnExclusionThatEnded_LeavesOutOnlyTheSlicesOfItsSpan()
    {
        // The whole day's slices: 4 racks x 1,441 slice ends. r1 left out from 02:00 to 03:00: the slices ending after
        // 02:00 up to 03:00 (60), those that held any of its readings in [02:00, 03:00).
        var plant = new SyntheticPlant(Start, End, End - TimeSpan.FromHours(1), End, FaultBurnRate: 0);
        using var store = plant.Store(new FakeTimeProvider(End));
        var evaluator = new SloEvaluator(new EmbeddedQueryEngine(store));
        var from = Start + TimeSpan.FromHours(2);
        var asRead = await evaluator.ErrorRatioAsync(Inlet, TimeSpan.FromDays(1), End);

        var corrected = await evaluator.ErrorRatioAsync(
            SloCorrections.Apply(Inlet, [new ReadingExclusion(Rack(1), from, from + TimeSpan.FromHours(1), "incident 1")]), TimeSpan.FromDays(1), End);

        var slices = 4.0 * 1441;
        Assert.Equal(asRead * slices / (slices - 60), corrected, 12);
    }

    [Fact]
    public async Task KeptSlices_AreRecounted_WhenAnExclusionReachesBackOverThem()
    {
        // The evaluator keeps each settled slice once; an exclusion filed at the end reaching back over the hot hour
        // must change them: the same ratios as whole windows read with the exclusion, and none spent.
        var plant = new SyntheticPlant(Start, End, End - TimeSpan.FromHours(3), End - TimeSpan.FromHours(2), FaultBurnRate: 14.4);
        using var store = plant.Store(new FakeTimeProvider(End));
        var query = new EmbeddedQueryEngine(store);
        var exclusions = new List<ReadingExclusion>();
        var kept = new SloEvaluator(query, Start, settledAfter: TimeSpan.FromMinutes(15), exclusions: () => exclusions);

        var before = await kept.EvaluateAsync(Inlet, End - TimeSpan.FromMinutes(30));
        exclusions.Add(new ReadingExclusion(Rack(1), End - TimeSpan.FromHours(4), End - TimeSpan.FromHours(1), "incident 1: sensor-noise on r1"));
        var after = await kept.EvaluateAsync(Inlet, End);
        var whole = await new SloEvaluator(query, Start).EvaluateAsync(SloCorrections.Apply(Inlet, exclusions), End);

        Assert.True(before.Budget.ErrorRatio > 0);
        Assert.Equal(0, after.Budget.ErrorRatio);
        Assert.Equal(whole.Budget.ErrorRatio, after.Budget.ErrorRatio);
        Assert.Equal(whole.BurnRates, after.BurnRates);
    }

    [Fact]
    public async Task ARunsSummary_WithTheReadingLeftOut_MeetsItsSlo_AndFiresNoAlert()
    {
        var plant = new SyntheticPlant(Start, End, End - TimeSpan.FromHours(2), End - TimeSpan.FromHours(1), FaultBurnRate: 0);
        using var store = plant.Store(new FakeTimeProvider(End));
        var query = new EmbeddedQueryEngine(store);
        var set = SyntheticPlant.Slos;
        var exclusions = new[] { new ReadingExclusion(Rack(1), End - TimeSpan.FromHours(3), null, "incident 1") };

        var asRead = (await new RunSloEvaluator(query).EvaluateAsync(set, Start, End)).Single(r => r.Name == Inlet.Name);
        var corrected = await new RunSloEvaluator(query, exclusions).EvaluateAsync(set, Start, End);
        var alerts = await new RunSloEvaluator(query, exclusions).AlertsAsync(set, Start, End);

        Assert.True(asRead.AlertsFired > 0);
        Assert.Equal(1, corrected.Single(r => r.Name == Inlet.Name).Attained);
        Assert.Equal(0, corrected.Single(r => r.Name == Inlet.Name).AlertsFired);
        Assert.DoesNotContain(alerts, a => a.Slo == Inlet.Name);
    }

    [Fact]
    public void OnlySlosWhoseSliReadsTheMetric_AreCorrected()
    {
        var gpu = SyntheticPlant.Slos.Find("gpu-throttle-free")!;
        var inlet = Inlet;
        var exclusions = new[] { new ReadingExclusion(Rack(1), Start, null, "r1") };

        Assert.Same(gpu, SloCorrections.Apply(gpu, exclusions));
        Assert.Same(inlet, SloCorrections.Apply(inlet, [new ReadingExclusion(Labels.From(("__name__", "other_metric"), ("rack", "r1")), Start, null, "x")]));
        Assert.NotSame(inlet, SloCorrections.Apply(inlet, exclusions));
    }

    [Fact]
    public void ALabelValueWithQuotesOrDollars_StillMakesPromQL()
    {
        var odd = Labels.From(("__name__", "slo_test_rack_inlet_celsius"), ("rack", "r\"1$1\\x"));

        var corrected = SloCorrections.Apply(Inlet, [new ReadingExclusion(odd, Start, End, "odd")]);

        Assert.Contains("slo_test_rack_inlet_celsius", PromQLEngine.MetricNames(corrected.Sli.Threshold!.Metric.Query));
        Assert.Contains("\"r\\\"1$$1\\\\x\"", corrected.Sli.Threshold!.Metric.Query, StringComparison.Ordinal);
    }

    [Fact]
    public void AMalformedExclusion_IsRefused_NamingTheReading()
    {
        var backwards = new ReadingExclusion(Rack(1), End, Start, "x");
        var whole = new ReadingExclusion(Labels.From(("__name__", "slo_test_rack_inlet_celsius")), Start, null, "x");

        var e = Assert.Throws<ArgumentException>(() => SloCorrections.Apply(Inlet, [backwards]));
        Assert.Contains("rack=\"r1\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("is not after from", e.Message, StringComparison.Ordinal);
        Assert.Contains("no label names the series", whole.Problem(), StringComparison.Ordinal);
    }
}
