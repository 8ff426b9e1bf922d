using Aida.Telemetry.PromQL;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;

namespace Aida.Telemetry.Tests.PromQL;

/// <summary>How a range query is executed must not change its answer: steps split across threads, sample arrays reused
/// from the pool between queries, and the counter-reset shortcut of rate/increase.</summary>
public class RangeQueryExecutionTests
{
    private const long Start = 1_700_000_000_000;
    private const long Scrape = 15_000;

    private static readonly string[] Queries =
    [
        "rate(c[5m])",
        "sum by (g) (increase(c[10m]))",
        "irate(c[1m])",
        "delta(gauge[5m])",
        "avg_over_time(gauge[10m])",
        "max_over_time(gauge[3m]) - min_over_time(gauge[3m])",
        "gauge",
        "gauge offset 7m",
        "gauge @ start()",
        "rate(c[5m] @ end())",
        "topk(2, gauge)",
        "quantile_over_time(0.9, gauge[15m])",
        "max_over_time(rate(c[2m])[10m:1m])",
        "count(gauge > 40)",
        "predict_linear(gauge[20m], 600)",

        // Aggregations read a step block's columns in place (sum without grouping over all the block's steps at once).
        "sum(rate(c[5m]))",
        "avg without (i) (avg_over_time(gauge[10m]))",
        "topk(3, rate(c[5m]))",
        "stddev by (g) (last_over_time(gauge[2m]))",
    ];

    [Fact]
    public void RangeQuery_SplitAcrossThreads_AnswersExactlyAsOneThread()
    {
        using var store = Store();
        var one = new PromQLEngine(store, new EngineOptions { MaxQueryThreads = 1 });
        var many = new PromQLEngine(store, new EngineOptions { MaxQueryThreads = 3, MinStepsPerThread = 1 });
        foreach (var q in Queries)
        {
            AssertSame(q, one.Range(q, Start, Start + (6 * 3_600_000), 60_000), many.Range(q, Start, Start + (6 * 3_600_000), 60_000));

            // A step that does not divide the range evenly, and fewer steps than threads.
            AssertSame(q, one.Range(q, Start + 1_000, Start + 7_200_000, 97_000), many.Range(q, Start + 1_000, Start + 7_200_000, 97_000));
            AssertSame(q, one.Range(q, Start, Start + 60_000, 60_000), many.Range(q, Start, Start + 60_000, 60_000));
        }
    }

    [Fact]
    public void RangeQuery_OnPooledArrays_AnswersAsOnFreshArrays()
    {
        using var store = Store();

        // The same store seen only through ISeriesSource.Select: every query decodes into new exact-length arrays.
        var fresh = new PromQLEngine(new SelectOnly(store), new EngineOptions { MaxQueryThreads = 1 });
        var pooled = new PromQLEngine(store, new EngineOptions { MaxQueryThreads = 2 });

        // Long ranges first so that later, shorter queries get arrays still holding older samples past their count.
        foreach (var (from, to) in new[] { (0L, 12L), (0L, 12L), (3L, 5L), (11L, 12L), (0L, 1L) })
        {
            foreach (var q in Queries)
            {
                var start = Start + (from * 3_600_000);
                var end = Start + (to * 3_600_000);
                AssertSame(q, fresh.Range(q, start, end, 120_000), pooled.Range(q, start, end, 120_000));
                AssertSame(q, fresh.Instant(q, end), pooled.Instant(q, end));
            }
        }
    }

    [Fact]
    public void RangeQuery_AtEveryStep_EqualsTheInstantQueryThere()
    {
        // Range functions in a range query are computed series by series over blocks of steps; an instant query computes
        // one window per series. Both must give the same bits.
        using var store = Store();
        var engine = new PromQLEngine(store);

        // (@ start() and @ end() name the query's own bounds, which differ between the two.)
        foreach (var q in Queries.Where(q => !q.Contains('@', StringComparison.Ordinal)))
        {
            AssertEveryStepIsTheInstantQuery(engine, q, Start + 3_000_000, Start + 12_000_000, 300_000);
        }
    }

    [Theory]
    [InlineData(60_000)] // a step of four scrapes: windows move by about four samples
    [InlineData(7_000)] // a step under the scrape interval: windows often do not move at all
    [InlineData(900_000)] // a step longer than the ranges: windows skip samples between them
    public void RangeQuery_IrregularSamples_AtEveryStep_EqualsTheInstantQueryThere(long step)
    {
        // A range query reuses rate's extrapolation factor while its windows keep one shape and guesses each window's
        // bounds from the previous move; jittered scrapes, gaps and counters starting near zero (where extrapolation stops
        // at the counter's zero) change the shape and break the guess from window to window.
        using var store = new Tsdb(new TsdbOptions { Clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(Start + (7 * 3_600_000))) });
        var random = new Random(17);
        for (var i = 0; i < 6; i++)
        {
            var id = store.GetOrCreateSeries(Labels.Metric("c", ("i", i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
            double counter = 0;
            for (var t = Start - 3_600_000; t <= Start + (6 * 3_600_000); t += Scrape + random.Next(-5_000, 5_000) + (random.Next(200) == 0 ? 1_800_000 : 0))
            {
                counter = random.Next(30) == 0 ? random.Next(3) : counter + (random.Next(4) * random.NextDouble());
                store.Append(id, t, counter);
            }
        }

        var engine = new PromQLEngine(store);
        foreach (var q in new[] { "rate(c[5m])", "increase(c[2m])", "delta(c[10m])", "sum(rate(c[1m]))", "rate(c[3m] offset 1m)" })
        {
            AssertEveryStepIsTheInstantQuery(engine, q, Start + 1_000, Start + (5 * 3_600_000), step);
        }
    }

    [Fact]
    public void Rate_OverACounterReset_AddsThePreResetValue()
    {
        // 10, 20, 30, reset, 5, 15 every 10 s: the increase is 15 - 10 + 30 = 35 over 40 s of samples. Extrapolation: the
        // window starts 20 s before the first sample, but the counter would reach zero 40 * 10/35 = 11.43 s before it,
        // more than 1.1 average intervals (11 s), so half an interval (5 s) is added; the end needs nothing.
        // rate = 35 * (40 + 5) / 40 / 60.
        using var store = new Tsdb(new TsdbOptions { Clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(Start)) });
        var id = store.GetOrCreateSeries(Labels.Metric("c"));
        double[] values = [10, 20, 30, 5, 15];
        for (var i = 0; i < values.Length; i++)
        {
            store.Append(id, Start - 40_000 + (i * 10_000), values[i]);
        }

        var engine = new PromQLEngine(store);
        var range = engine.Range("rate(c[1m])", Start - 10_000, Start, 10_000);
        Assert.Equal(35.0 * 45 / 40 / 60, range.Series.Single().Samples[^1].Value, 15);
        Assert.Equal(35.0 * 45 / 40, engine.Instant("increase(c[1m])", Start).Series.Single().Samples[0].Value, 12);

        // Before the reset (at -20 s: 10, 20, 30) the shortcut applies: 20 over 20 s of samples; the window starts 40 s
        // before the first, but the counter's zero is 20 * 10/20 = 10 s before it, under 1.1 intervals, so 10 s is added.
        Assert.Equal(20.0 * 30 / 20 / 60, engine.Instant("rate(c[1m])", Start - 20_000).Series.Single().Samples[0].Value, 15);
    }

    [Fact]
    public void Pool_RoundsUpToAClass_AndKeepsAtMostItsLimit()
    {
        Assert.Equal(1024, SampleBufferPool.SizeClass(1));
        Assert.Equal(9216, SampleBufferPool.SizeClass(8641));
        for (var n = 1024; n < 5_000_000; n = (n * 5 / 4) + 7)
        {
            var size = SampleBufferPool.SizeClass(n);
            Assert.InRange(size, n, n + Math.Max(SampleBufferPool.MinPooledLength - 1, n / 8));
            Assert.Equal(size, SampleBufferPool.SizeClass(size));
        }

        var pool = new SampleBufferPool(maxRetainedSamples: 20_000);
        var a = pool.Rent(8641);
        Assert.Equal(9216, a.Length);
        pool.Return(a);
        Assert.Same(a, pool.Rent(9000));
        pool.Return(a);
        pool.Return(pool.Rent(9216 * 2)); // over the limit together with a: dropped
        Assert.Equal(9216, pool.RetainedSamples);
        Assert.Equal(100, pool.Rent(100).Length); // small requests are exact and never pooled
    }

    private static Tsdb Store()
    {
        var store = new Tsdb(new TsdbOptions { Clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(Start + (13 * 3_600_000))) });
        var random = new Random(5);
        for (var i = 0; i < 12; i++)
        {
            var name = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var c = store.GetOrCreateSeries(Labels.Metric("c", ("i", name), ("g", (i % 3).ToString(System.Globalization.CultureInfo.InvariantCulture))));
            var gauge = store.GetOrCreateSeries(Labels.Metric("gauge", ("i", name)));
            double counter = 0;
            for (long t = Start - 3_600_000; t <= Start + (12 * 3_600_000); t += Scrape)
            {
                // Counters reset now and then; some series stop for a while (a staleness marker, then a gap).
                counter = random.Next(400) == 0 ? random.Next(10) : counter + random.Next(100);
                var gap = i % 4 == 0 && t % 10_800_000 < 1_200_000;
                if (gap)
                {
                    if (t % 10_800_000 < Scrape)
                    {
                        store.Append(c, t, StaleMarker.Value);
                        store.Append(gauge, t, StaleMarker.Value);
                    }

                    continue;
                }

                store.Append(c, t, counter);
                store.Append(gauge, t, 50 + (20 * Math.Sin(t / 3e6)) + random.NextDouble());
            }
        }

        return store;
    }

    /// <summary>Asserts that the range query's point at every step has the bits of the instant query at that step, and that
    /// it has no other points.</summary>
    private static void AssertEveryStepIsTheInstantQuery(PromQLEngine engine, string q, long from, long to, long step)
    {
        var range = engine.Range(q, from, to, step);
        var bySeries = range.Series.ToDictionary(s => s.Labels, s => s.Samples.ToDictionary(x => x.TimestampMs, x => BitConverter.DoubleToInt64Bits(x.Value)));
        var points = 0;
        for (var t = from; t <= to; t += step)
        {
            foreach (var s in engine.Instant(q, t).Series)
            {
                long bits = 0;
                Assert.True(bySeries.TryGetValue(s.Labels, out var samples) && samples.TryGetValue(t, out bits), $"{q}: {s.Labels} at {t} missing from the range result");
                Assert.True(BitConverter.DoubleToInt64Bits(s.Samples[0].Value) == bits, $"{q}: {s.Labels} at {t} differs");
                points++;
            }
        }

        Assert.Equal(range.Series.Sum(s => s.Samples.Count), points);
    }

    internal static void AssertSame(string query, QueryResult expected, QueryResult actual)
    {
        Assert.Equal(expected.Type, actual.Type);
        Assert.True(expected.Series.Count == actual.Series.Count, $"{query}: {expected.Series.Count} series expected, {actual.Series.Count} got");
        for (var i = 0; i < expected.Series.Count; i++)
        {
            Assert.Equal(expected.Series[i].Labels, actual.Series[i].Labels);
            var e = expected.Series[i].Samples.Select(s => (s.TimestampMs, BitConverter.DoubleToInt64Bits(s.Value)));
            var a = actual.Series[i].Samples.Select(s => (s.TimestampMs, BitConverter.DoubleToInt64Bits(s.Value)));
            Assert.True(e.SequenceEqual(a), $"{query}: {expected.Series[i].Labels} differs");
        }
    }

    private sealed class SelectOnly(ISeriesSource inner) : ISeriesSource
    {
        public IEnumerable<SeriesSamples> Select(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers) => inner.Select(minTimeMs, maxTimeMs, matchers);

        public IEnumerable<Labels> Series(long minTimeMs, long maxTimeMs, IReadOnlyList<LabelMatcher> matchers) => inner.Series(minTimeMs, maxTimeMs, matchers);
    }
}
