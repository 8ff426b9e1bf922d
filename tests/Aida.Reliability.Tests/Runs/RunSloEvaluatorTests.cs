using Aida.Reliability.OpenSlo;
using Aida.Reliability.Runs;
using Aida.Telemetry.Query;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Reliability.Tests.Runs;

/// <summary>SLOs over a whole run: budget spent and the burn-rate alerts that fired, over synthetic telemetry with a known fault.</summary>
public sealed class RunSloEvaluatorTests
{
    private static readonly DateTimeOffset Start = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset End = Start + TimeSpan.FromDays(1);

    private static async Task<IReadOnlyList<RunSloResult>> Evaluate(SyntheticPlant plant)
    {
        using var store = plant.Store(new FakeTimeProvider(End));
        return await new RunSloEvaluator(new EmbeddedQueryEngine(store)).EvaluateAsync(SyntheticPlant.Slos, Start, End);
    }

    [Fact]
    public async Task TwoHoursAt20x_FiresEveryWorkbookConditionOnce_AndSpendsTheirShareOfTheBudget()
    {
        // 20x for 2 h: the 1 h/5 m page fires (20 >= 14.4), the 6 h/30 m page too (6.7x over 6 h), and the ticket
        // (over the day the run holds, 1.7x), each once.
        var plant = new SyntheticPlant(Start, End, Start + TimeSpan.FromHours(10), Start + TimeSpan.FromHours(12), FaultBurnRate: 20);
        var gpu = (await Evaluate(plant)).Single(r => r.Name == "gpu-throttle-free");

        Assert.Equal(3, gpu.AlertsFired);
        // The day burned at 20 x 2 / 24; a 30-day window's budget spent by one day of it: that over 30.
        Assert.Equal(20.0 * 2 / 24, gpu.BurnRate, 6);
        Assert.Equal(20.0 * 2 / 24 / 30, gpu.BudgetConsumed, 6);
        Assert.Equal(1 - gpu.BudgetConsumed, gpu.BudgetRemaining, 12);
    }

    [Fact]
    public async Task TimeSliceFault_CountsRackMinutes()
    {
        // Rack r1 of four at 29 °C for 2 h: about 120 of 5,760 rack-minutes bad (the evaluator's slice grid may take in
        // one boundary slice more).
        var plant = new SyntheticPlant(Start, End, Start + TimeSpan.FromHours(10), Start + TimeSpan.FromHours(12), FaultBurnRate: 0);
        var inlet = (await Evaluate(plant)).Single(r => r.Name == "rack-inlet-recommended");

        Assert.Equal(1 - (120.0 / 5760), inlet.Attained, 3);
        Assert.True(inlet.AlertsFired >= 1);
    }

    [Fact]
    public async Task Alerts_SayWhenEachConditionFiredAndResolved_AndWhereATimeSliceSloBurns()
    {
        // Rack r1 at 29 °C from 10:00 to 12:00: the inlet SLO's alerts fire after 10:00 and name r1 as burning most;
        // the ratio SLO burning at 20x meanwhile names no series.
        var from = Start + TimeSpan.FromHours(10);
        var plant = new SyntheticPlant(Start, End, from, Start + TimeSpan.FromHours(12), FaultBurnRate: 20);
        using var store = plant.Store(new FakeTimeProvider(End));
        var evaluator = new RunSloEvaluator(new EmbeddedQueryEngine(store));

        var alerts = await evaluator.AlertsAsync(SyntheticPlant.Slos, Start, End);
        var results = await evaluator.EvaluateAsync(SyntheticPlant.Slos, Start, End);

        // As many as the run's count of firings, per SLO, in time order.
        Assert.Equal(results.ToDictionary(r => r.Name, r => r.AlertsFired), results.ToDictionary(r => r.Name, r => alerts.Count(a => a.Slo == r.Name)));
        Assert.Equal(alerts.OrderBy(a => a.StartsAt), alerts);
        var inlet = alerts.Where(a => a.Slo == "rack-inlet-recommended").ToList();
        Assert.NotEmpty(inlet);
        Assert.All(inlet, a =>
        {
            Assert.InRange(a.StartsAt, from, from + TimeSpan.FromHours(2));
            Assert.Equal("r1", a.Worst?.Get("rack"));
            Assert.True(a.LongBurnRate >= a.Condition.Threshold && a.ShortBurnRate >= a.Condition.Threshold);
        });
        var fast = Assert.Single(alerts, a => a.Slo == "gpu-throttle-free" && a.Condition.Name == "page-fast-burn");
        Assert.Null(fast.Worst);
        Assert.NotNull(fast.EndsAt);
        Assert.InRange(fast.EndsAt!.Value, Start + TimeSpan.FromHours(12), Start + TimeSpan.FromHours(13));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(180)]
    public async Task LiveAlerts_SteppedAsTheRunGoes_AreTheAlertsOfTheFinishedRun(int stepMinutes)
    {
        var plant = new SyntheticPlant(Start, End, Start + TimeSpan.FromHours(10), Start + TimeSpan.FromHours(12), FaultBurnRate: 20);
        using var store = plant.Store(new FakeTimeProvider(End));
        var engine = new EmbeddedQueryEngine(store);
        var whole = await new RunSloEvaluator(engine).AlertsAsync(SyntheticPlant.Slos, Start, End);

        var live = new LiveSloAlerts(engine, SyntheticPlant.Slos, Start);
        var stepped = new List<Aida.Reliability.Alerting.SloAlert>();
        for (var now = Start; now <= End; now += TimeSpan.FromMinutes(stepMinutes))
        {
            var fired = await live.StepAsync(now);
            Assert.All(fired, a => Assert.True(a.StartsAt <= now, "no alert from a minute not yet come"));
            stepped.AddRange(fired);
        }

        stepped.AddRange(await live.StepAsync(End));
        Assert.NotEmpty(whole);
        Assert.Equal(whole.Select(a => (a.Slo, a.Condition.Name, a.StartsAt, a.LongBurnRate, a.ShortBurnRate, a.Worst?.ToString())),
            stepped.OrderBy(a => a.StartsAt).Select(a => (a.Slo, a.Condition.Name, a.StartsAt, a.LongBurnRate, a.ShortBurnRate, a.Worst?.ToString())));
        Assert.Empty(await live.StepAsync(End));
    }

    [Fact]
    public async Task LiveAlerts_FiringNow_AreThoseOfTheFinishedRunBegunAndNotEnded()
    {
        // GPU 0 burns 20x from 10:00 to 12:00; at each hour the alerts firing live are the finished run's alerts that began
        // by then and had not ended.
        var plant = new SyntheticPlant(Start, End, Start + TimeSpan.FromHours(10), Start + TimeSpan.FromHours(12), FaultBurnRate: 20);
        using var store = plant.Store(new FakeTimeProvider(End));
        var engine = new EmbeddedQueryEngine(store);
        var whole = await new RunSloEvaluator(engine).AlertsAsync(SyntheticPlant.Slos, Start, End);
        var live = new LiveSloAlerts(engine, SyntheticPlant.Slos, Start);
        var seen = 0;
        for (var now = Start; now <= End; now += TimeSpan.FromHours(1))
        {
            await live.StepAsync(now);
            var expected = whole.Where(a => a.StartsAt <= now && (a.EndsAt is null || a.EndsAt > now)).Select(a => (a.Slo, a.Condition.Name, a.StartsAt)).Order().ToList();
            Assert.Equal(expected, live.Firing.Select(a => (a.Slo, a.Condition.Name, a.StartsAt)).Order().ToList());
            seen += expected.Count;
        }

        Assert.True(seen > 0);
        Assert.Contains(whole, a => a.EndsAt is not null);
    }

    [Fact]
    public async Task NoFault_SpendsNothingAndFiresNothing()
    {
        var plant = new SyntheticPlant(Start, End, End, End, FaultBurnRate: 0);
        Assert.All(await Evaluate(plant), r =>
        {
            Assert.Equal(1, r.Attained);
            Assert.Equal(0, r.BudgetConsumed);
            Assert.Equal(0, r.AlertsFired);
        });
    }

    [Theory]
    // Ten minutes all bad against a 1x condition over 1 h and 5 m: fires unless it must hold longer than that.
    [InlineData(0, 1)]
    [InlineData(5, 1)]
    [InlineData(15, 0)]
    public void CountFirings_WaitsForAlertAfter(int alertAfterMinutes, int expected)
    {
        var bad = new double[60];
        var total = Enumerable.Repeat(1.0, 60).ToArray();
        for (var i = 20; i < 30; i++)
        {
            bad[i] = 1;
        }

        var condition = new BurnRateCondition("c", "page", 1, TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(alertAfterMinutes));
        Assert.Equal(expected, RunSloEvaluator.CountFirings(bad, total, 0.999, condition));
    }

    [Fact]
    public void CountFirings_CountsEachEpisode()
    {
        // Two bad bursts an hour apart against a 14.4x condition over 5 m and 5 m: two firings.
        var bad = new double[180];
        var total = Enumerable.Repeat(100.0, 180).ToArray();
        for (var i = 10; i < 20; i++)
        {
            bad[i] = 100;
            bad[i + 90] = 100;
        }

        var condition = new BurnRateCondition("c", "page", 14.4, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5), TimeSpan.Zero);
        Assert.Equal(2, RunSloEvaluator.CountFirings(bad, total, 0.999, condition));
    }
}
