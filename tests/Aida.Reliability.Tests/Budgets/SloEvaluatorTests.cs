using Aida.Reliability.Budgets;
using Aida.Telemetry.Query;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Reliability.Tests.Budgets;

/// <summary>SLOs evaluated through the embedded query engine over synthetic telemetry with a known fault.</summary>
public sealed class SloEvaluatorTests
{
    private static readonly DateTimeOffset End = new(2025, 7, 31, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A14_4xBurnForTheLastHour_Consumes2PercentOfThe30DayBudget()
    {
        // 30 days of data; GPU 0 throttled for the last hour at 14.4x the 99.9 % budget.
        var plant = new SyntheticPlant(End - TimeSpan.FromDays(30), End, End - TimeSpan.FromHours(1), End, FaultBurnRate: 14.4);
        using var store = plant.Store(new FakeTimeProvider(End));
        var evaluator = new SloEvaluator(new EmbeddedQueryEngine(store));

        var status = await evaluator.EvaluateAsync(SyntheticPlant.Slos.Find("gpu-throttle-free")!, End);

        Assert.True(status.HasData);
        Assert.Equal(14.4, status.BurnRates[TimeSpan.FromHours(1)], 6);
        Assert.Equal(14.4, status.BurnRates[TimeSpan.FromMinutes(5)], 6);
        Assert.Equal(2.4, status.BurnRates[TimeSpan.FromHours(6)], 6); // one faulty hour in six
        Assert.Equal(0.02, status.BudgetConsumed, 6);
        Assert.Equal(0.98, status.BudgetRemaining, 6);
        Assert.Equal(1 - (0.02 * 0.001), status.Attained, 9);
        // 98 % of a 30-day budget at 14.4x: 0.98 x 720 h / 14.4 = 49 h.
        Assert.Equal(49, status.TimeToExhaustion!.Value.TotalHours, 3);
    }

    [Fact]
    public async Task NoFault_SpendsNoBudget_AndNothingFires()
    {
        var plant = new SyntheticPlant(End - TimeSpan.FromDays(1), End, End, End, FaultBurnRate: 0);
        using var store = plant.Store(new FakeTimeProvider(End));
        var evaluator = new SloEvaluator(new EmbeddedQueryEngine(store));

        var statuses = await evaluator.EvaluateAsync(SyntheticPlant.Slos, End);

        Assert.All(statuses, s =>
        {
            Assert.True(s.HasData);
            Assert.Equal(1, s.BudgetRemaining);
            Assert.Empty(s.FiringAlerts);
            Assert.Null(s.TimeToExhaustion);
        });
    }

    [Fact]
    public async Task AHotRackForAnHour_SpendsItsRackMinutesOfTheTimeSliceBudget()
    {
        // A day of data, rack r1 of four at 29 °C for the last hour: about 60 of 4 x 1,440 rack-minutes are bad.
        var plant = new SyntheticPlant(End - TimeSpan.FromDays(1), End, End - TimeSpan.FromHours(1), End, FaultBurnRate: 0);
        using var store = plant.Store(new FakeTimeProvider(End));
        var evaluator = new SloEvaluator(new EmbeddedQueryEngine(store));

        var status = await evaluator.EvaluateAsync(SyntheticPlant.Slos.Find("rack-inlet-recommended")!, End);

        // A slice sees the samples of its minute and the one before, so the hot hour spoils 60 or 61 slices.
        Assert.InRange(status.Budget.ErrorRatio, 60.0 / (4 * 1441), 61.0 / (4 * 1440));
        // The 1h window holds 61 slices (both ends, as Prometheus' subqueries); in 60 of them one rack in four is hot:
        // 60/61 x 25 % bad over a 1 % budget.
        Assert.Equal(25.0 * 60 / 61, status.BurnRates[TimeSpan.FromHours(1)], 9);
        Assert.Contains(status.FiringAlerts, c => c.Name == "inlet-fast-burn");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(30)]
    [InlineData(71)]
    public async Task WindowsCutWhereTheDataStarts_GiveTheSameStatus(int hours)
    {
        // A fresh store that began some hours ago, a fault in its last hour: every SLO (ratio and time-slice SLIs, every
        // window) gives the same status whether its 28-30 day windows are read in full or cut where the data starts.
        var start = End - TimeSpan.FromHours(hours);
        var plant = new SyntheticPlant(start, End, End - TimeSpan.FromHours(1), End, FaultBurnRate: 14.4);
        using var store = plant.Store(new FakeTimeProvider(End));
        var query = new EmbeddedQueryEngine(store);

        var full = await new SloEvaluator(query).EvaluateAsync(SyntheticPlant.Slos, End);
        var cut = await new SloEvaluator(query, start).EvaluateAsync(SyntheticPlant.Slos, End);

        Assert.Equal(full.Count, cut.Count);
        for (var i = 0; i < full.Count; i++)
        {
            Assert.Equal(full[i].Budget.ErrorRatio, cut[i].Budget.ErrorRatio);
            Assert.Equal(full[i].BurnRates, cut[i].BurnRates);
            Assert.Equal(full[i].FiringAlerts.Select(c => c.Name), cut[i].FiringAlerts.Select(c => c.Name));
        }

        Assert.Contains(full, s => s.Budget.ErrorRatio > 0);
    }

    [Theory]
    [InlineData(3, true, (15 * 60) + 7)]
    [InlineData(10, false, (2 * 3600) + 7)]
    public async Task SettledSlicesCountedOnce_GiveTheSameStatusAsWholeWindows_AtEveryEvaluation(int days, bool cutAtStart, int everySeconds)
    {
        // Some days, a hot rack and a GPU burning for two hours in the middle; evaluated at times that drift across minute
        // boundaries, with and without the kept slices: every ratio is the same, bit for bit, before, during and after
        // the fault, as the windows grow (cut where the data starts) or, past the 7-day window, slide and let go.
        var start = End - TimeSpan.FromDays(days);
        var fault = start + TimeSpan.FromHours(days * 12);
        var plant = new SyntheticPlant(start, End, fault, fault + TimeSpan.FromHours(2), FaultBurnRate: 14.4);
        using var store = plant.Store(new FakeTimeProvider(End));
        var query = new EmbeddedQueryEngine(store);
        DateTimeOffset? from = cutAtStart ? start : null;
        var whole = new SloEvaluator(query, from);
        var kept = new SloEvaluator(query, from, settledAfter: TimeSpan.FromMinutes(15));

        var evaluations = 0;
        var spent = 0;
        for (var at = start + TimeSpan.FromMinutes(15); at <= End; at += TimeSpan.FromSeconds(everySeconds))
        {
            var expected = await whole.EvaluateAsync(SyntheticPlant.Slos, at);
            var actual = await kept.EvaluateAsync(SyntheticPlant.Slos, at);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Budget.ErrorRatio, actual[i].Budget.ErrorRatio);
                Assert.Equal(expected[i].BurnRates, actual[i].BurnRates);
                spent += expected[i].Budget.ErrorRatio > 0 ? 1 : 0;
            }

            evaluations++;
        }

        Assert.True(evaluations > 110);
        Assert.True(spent > 50, "the fault spends budget in the evaluations after it");
    }

    [Fact]
    public async Task SlicesBeforeWhatTheStoreAccepts_CountedOnce_GiveTheSameStatusAsWholeWindows_WithSamplesComingLate()
    {
        // A site over the network: samples may come late, so no settling time holds, but the store refuses those before
        // its head's lower bound (raised by the hourly compaction), and the slices before it no longer change. Three days
        // written as they arrive, rack r1's inlet 40 minutes behind the rest, a fault in the middle; evaluated every 7 min
        // with and without the kept slices: every ratio the same, bit for bit, and the kept ones read a fraction of the
        // slices.
        var start = End - TimeSpan.FromDays(3);
        var fault = start + TimeSpan.FromHours(36);
        var plant = new SyntheticPlant(start, End, fault, fault + TimeSpan.FromHours(2), FaultBurnRate: 14.4);
        var clock = new FakeTimeProvider(start);
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Clock = clock, Retention = TimeSpan.FromDays(3650) });
        var series = plant.Series().Select(s => (Id: store.GetOrCreateSeries(s.Labels), s.Samples, Late: s.Labels.ToString().Contains("r1", StringComparison.Ordinal), Next: new int[1])).ToList();
        var whole = new CountingEngine(new EmbeddedQueryEngine(store));
        var kept = new CountingEngine(new EmbeddedQueryEngine(store));
        var wholeEvaluator = new SloEvaluator(whole);
        var keptEvaluator = new SloEvaluator(kept, acceptsFrom: () => store.AcceptsFrom);
        var slos = SyntheticPlant.Slos; // one set: the kept slices are the SLO instance's

        var (lateAccepted, lateRefused, spent, evaluations) = (0, 0, 0, 0);
        var lastCompactHour = -1L;
        for (var at = start + TimeSpan.FromMinutes(15); at <= End; at += TimeSpan.FromMinutes(7))
        {
            clock.SetUtcNow(at);
            foreach (var (id, samples, late, next) in series)
            {
                var until = (late ? at - TimeSpan.FromMinutes(40) : at).ToUnixTimeMilliseconds();
                for (; next[0] < samples.Count && samples[next[0]].TimestampMs <= until; next[0]++)
                {
                    var status = store.Append(id, samples[next[0]].TimestampMs, samples[next[0]].Value);
                    (lateAccepted, lateRefused) = !late ? (lateAccepted, lateRefused)
                        : status == Aida.Telemetry.Series.AppendStatus.Ok ? (lateAccepted + 1, lateRefused) : (lateAccepted, lateRefused + 1);
                }
            }

            if (at.ToUnixTimeMilliseconds() / 3_600_000 is var hour && hour != lastCompactHour)
            {
                store.Compact();
                lastCompactHour = hour;
            }

            var expected = await wholeEvaluator.EvaluateAsync(slos, at);
            var actual = await keptEvaluator.EvaluateAsync(slos, at);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Budget.ErrorRatio, actual[i].Budget.ErrorRatio);
                Assert.Equal(expected[i].BurnRates, actual[i].BurnRates);
                spent += expected[i].Budget.ErrorRatio > 0 ? 1 : 0;
            }

            evaluations++;
        }

        Assert.True(evaluations > 600 && spent > 100, $"{evaluations} evaluations, {spent} with budget spent");
        // Late samples the store took after the slices around them were first evaluated, and those it refused (before its
        // bound), which neither evaluation counts.
        Assert.True(lateAccepted > 1000 && lateRefused > 0, $"r1: {lateAccepted} late samples taken, {lateRefused} refused");
        Assert.True(kept.SlicesRead * 50 < whole.SlicesRead, $"kept slices read {kept.SlicesRead:N0}, whole windows {whole.SlicesRead:N0}");
    }

    /// <summary>A query engine that counts the time slices asked of it: a range query's steps and an instant query's
    /// subquery steps (<c>[7d:1m]</c>).</summary>
    private sealed class CountingEngine(IQueryEngine inner) : IQueryEngine
    {
        public long SlicesRead { get; private set; }

        public Task<QueryResult> QueryAsync(string promql, DateTimeOffset time, CancellationToken cancellationToken = default)
        {
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(promql, @"\[(\w+):(\w+)\]"))
            {
                SlicesRead += (long)(Aida.Model.Config.PromDuration.Parse(m.Groups[1].Value) / Aida.Model.Config.PromDuration.Parse(m.Groups[2].Value));
            }

            return inner.QueryAsync(promql, time, cancellationToken);
        }

        public Task<QueryResult> QueryRangeAsync(string promql, DateTimeOffset start, DateTimeOffset end, TimeSpan step, CancellationToken cancellationToken = default)
        {
            SlicesRead += (long)((end - start) / step) + 1;
            return inner.QueryRangeAsync(promql, start, end, step, cancellationToken);
        }

        public Task<IReadOnlyList<Aida.Telemetry.Series.Labels>> SeriesAsync(IReadOnlyList<string> match, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default) =>
            inner.SeriesAsync(match, start, end, cancellationToken);

        public Task<IReadOnlyList<string>> LabelNamesAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default) =>
            inner.LabelNamesAsync(start, end, cancellationToken);

        public Task<IReadOnlyList<string>> LabelValuesAsync(string name, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default) =>
            inner.LabelValuesAsync(name, start, end, cancellationToken);
    }

    [Fact]
    public async Task NoData_IsNoDataNotAFullBudgetSpent()
    {
        using var store = new Aida.Telemetry.Storage.Tsdb(new Aida.Telemetry.Storage.TsdbOptions { Clock = new FakeTimeProvider(End) });
        var evaluator = new SloEvaluator(new EmbeddedQueryEngine(store));

        var status = await evaluator.EvaluateAsync(SyntheticPlant.Slos.Find("gpu-throttle-free")!, End);

        Assert.False(status.HasData);
        Assert.Equal(1, status.BudgetRemaining);
        Assert.All(status.BurnRates.Values, r => Assert.Equal(0, r));
    }
}
