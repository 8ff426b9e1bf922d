using System.Globalization;
using Aida.Telemetry.PromQL;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.PromQL;

/// <summary>The engine keeps range query results over a store that reports its changes, and computes again only the
/// steps whose data may have changed: the answer must be the one a full evaluation gives, to the bit, however the store
/// grew in between (late series, devices with their own clocks, staleness markers, retention).</summary>
public class RangeResultCacheTests
{
    private const long Start = 1_700_000_000_000;
    private const long Minute = 60_000;

    private static readonly string[] Queries =
    [
        "max by (g) (gauge)",
        "sum by (g) (rate(c[5m]))",
        "avg_over_time(gauge[10m])",
        "max_over_time(gauge[3m]) - min_over_time(gauge[3m])",
        "count(gauge > 50)",
        "gauge offset 7m",
        "max_over_time(rate(c[2m])[10m:1m])",
        "last_over_time(gauge[2m])",
        "time()",
        "gauge @ end()",  // not kept (it reads the query's end): answered in full every time
        "gauge offset -2m", // not kept (it reads ahead of its step)
    ];

    /// <summary>The store grows a minute at a time, as a plant's telemetry does (some series late by their own clocks,
    /// a series that first appears with samples from the past, staleness markers when a series stops), and every
    /// minute each query is asked over the last two hours, as the detection asks: the engine that keeps its results
    /// answers as one that keeps none, to the bit, and most steps come from what it kept.</summary>
    [Property(MaxTest = 25, Replay = "1234567890123456789,987654321987654321")]
    public Property ASlidingWindow_AnswersAsAFullEvaluation_HoweverTheStoreGrew() =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(Start));
            using var store = new Tsdb(new TsdbOptions { Clock = clock });
            var kept = new PromQLEngine(store, new EngineOptions { MaxQueryThreads = 1 });
            var full = new PromQLEngine(store, new EngineOptions { MaxQueryThreads = 1, RangeCachePoints = 0 });
            var plant = new GrowingPlant(store, new Random(seed));
            var step = new[] { 15_000L, 30_000L, Minute }[seed % 3];
            for (var minute = 1; minute <= 40; minute++)
            {
                clock.SetUtcNow(DateTimeOffset.FromUnixTimeMilliseconds(Start + (minute * Minute)));
                plant.Grow(Start + (minute * Minute));
                var end = Start + (minute * Minute);
                foreach (var q in Queries)
                {
                    RangeQueryExecutionTests.AssertSame($"{q} (seed {seed}, minute {minute})", full.Range(q, end - (120 * Minute), end, step), kept.Range(q, end - (120 * Minute), end, step));
                }
            }

            var (fromKept, evaluated) = kept.RangeSteps;
            Assert.True(fromKept > 2 * evaluated, $"{fromKept} steps kept, {evaluated} evaluated");
        });

    [Fact]
    public void AWindowNotAlignedToTheKeptOne_OrStartingBeforeIt_IsEvaluatedInFull()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(Start + (30 * Minute)));
        using var store = new Tsdb(new TsdbOptions { Clock = clock });
        new GrowingPlant(store, new Random(3)).Grow(Start + (30 * Minute));
        var kept = new PromQLEngine(store);
        var full = new PromQLEngine(store, new EngineOptions { RangeCachePoints = 0 });
        const string q = "max by (g) (gauge)";
        RangeQueryExecutionTests.AssertSame(q, full.Range(q, Start, Start + (20 * Minute), Minute), kept.Range(q, Start, Start + (20 * Minute), Minute));
        Assert.Equal((0, 21), kept.RangeSteps);

        // Half a step later: no kept step falls on it.
        RangeQueryExecutionTests.AssertSame(q, full.Range(q, Start + 30_000, Start + (20 * Minute), Minute), kept.Range(q, Start + 30_000, Start + (20 * Minute), Minute));
        Assert.Equal((0, 41), kept.RangeSteps);

        // Slid forward by whole steps, over unchanged data: the kept steps to 19:30, and two new ones (20:30, 21:30).
        RangeQueryExecutionTests.AssertSame(q, full.Range(q, Start + 90_000, Start + (21 * Minute) + 30_000, Minute), kept.Range(q, Start + 90_000, Start + (21 * Minute) + 30_000, Minute));
        Assert.Equal((19, 43), kept.RangeSteps);

        // Inside what is kept, ending before it: every step kept, none past its end.
        RangeQueryExecutionTests.AssertSame(q, full.Range(q, Start + (210 * 1_000), Start + (10 * Minute), Minute), kept.Range(q, Start + (210 * 1_000), Start + (10 * Minute), Minute));
        Assert.Equal((19 + 7, 43), kept.RangeSteps);

        // Starting before what is kept: in full.
        RangeQueryExecutionTests.AssertSame(q, full.Range(q, Start + 30_000, Start + (21 * Minute) + 30_000, Minute), kept.Range(q, Start + 30_000, Start + (21 * Minute) + 30_000, Minute));
        Assert.Equal((19 + 7, 65), kept.RangeSteps);
    }

    [Fact]
    public void SamplesRemovedByRetention_DropWhatWasKept()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(Start + (150 * Minute)));
        var dir = Directory.CreateTempSubdirectory("aida-range-cache-").FullName;
        try
        {
            using var store = new Tsdb(new TsdbOptions { Clock = clock, DataDirectory = dir, BlockDuration = TimeSpan.FromHours(1), Retention = TimeSpan.FromHours(2) });
            var plant = new GrowingPlant(store, new Random(9));
            plant.Grow(Start + (150 * Minute));
            var kept = new PromQLEngine(store);
            var full = new PromQLEngine(store, new EngineOptions { RangeCachePoints = 0 });
            const string q = "avg_over_time(gauge[10m])";
            var before = kept.Range(q, Start, Start + (150 * Minute), Minute);

            clock.SetUtcNow(DateTimeOffset.FromUnixTimeMilliseconds(Start + (200 * Minute)));
            plant.Grow(Start + (200 * Minute));
            Assert.True(store.Compact() > 0);
            var after = kept.Range(q, Start, Start + (200 * Minute), Minute);
            RangeQueryExecutionTests.AssertSame(q, full.Range(q, Start, Start + (200 * Minute), Minute), after);
            Assert.True(after.Series.Min(s => s.Samples[0].TimestampMs) > before.Series.Min(s => s.Samples[0].TimestampMs), "retention removed nothing the query reads");
            Assert.Equal((0L, 151L + 201L), kept.RangeSteps);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void TheStoresChangeLog_NamesTheOldestSampleStoredSinceAMark()
    {
        using var store = new Tsdb(new TsdbOptions { Clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(Start)) });
        var a = store.GetOrCreateSeries(Labels.Metric("a"));
        var b = store.GetOrCreateSeries(Labels.Metric("b"));
        var first = store.Mark();
        Assert.Equal(long.MaxValue, store.OldestChangedSince(first));
        store.Append(a, Start - 5_000, 1);
        var second = store.Mark();
        store.Append(b, Start - 60_000, 2); // another series, late by its own clock
        store.Append(a, Start - 6_000, 3); // out of order: refused, changes nothing
        Assert.Equal(Start - 60_000, store.OldestChangedSince(first));
        Assert.Equal(Start - 60_000, store.OldestChangedSince(second));
        var third = store.Mark();
        store.Append(a, Start, 4);
        Assert.Equal(Start, store.OldestChangedSince(third));
        Assert.Equal(Start - 60_000, store.OldestChangedSince(first));

        // A mark older than the store remembers: anything may have changed.
        for (var i = 0; i < 300; i++)
        {
            store.Mark();
        }

        Assert.Equal(long.MinValue, store.OldestChangedSince(first));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.OldestChangedSince(store.Mark() + 1));
    }

    /// <summary>Telemetry arriving a minute at a time: a counter and a gauge per instance every 15 s, two instances
    /// stamping by their own clocks up to 90 s late, one that stops now and then (a staleness marker), and one that first
    /// reports after 10 min with its last 5 min of samples.</summary>
    private sealed class GrowingPlant(Tsdb store, Random random)
    {
        private readonly Dictionary<int, long> _last = [];
        private readonly Dictionary<int, double> _counter = [];

        public void Grow(long toMs)
        {
            for (var i = 0; i < 6; i++)
            {
                var name = i.ToString(CultureInfo.InvariantCulture);
                var g = (i % 2).ToString(CultureInfo.InvariantCulture);
                var gauge = store.GetOrCreateSeries(Labels.Metric("gauge", ("i", name), ("g", g)));
                var c = store.GetOrCreateSeries(Labels.Metric("c", ("i", name), ("g", g)));
                var lag = i is 1 or 2 ? random.Next(0, 90_000) : 0;
                if (i == 5 && toMs < Start + (10 * 60_000))
                {
                    continue; // a late-comer: first reports with the 5 min it buffered
                }

                var from = _last.TryGetValue(i, out var last) ? last + 15_000 : (i == 5 ? toMs - 300_000 : Start - 3_600_000);
                for (var t = from; t <= toMs - lag; t += 15_000)
                {
                    _last[i] = t;
                    if (i == 3 && t % 1_800_000 < 300_000)
                    {
                        if (t % 1_800_000 < 15_000)
                        {
                            store.Append(gauge, t, StaleMarker.Value);
                            store.Append(c, t, StaleMarker.Value);
                        }

                        continue;
                    }

                    _counter[i] = random.Next(200) == 0 ? 0 : _counter.GetValueOrDefault(i) + random.Next(50);
                    store.Append(gauge, t, 50 + (10 * Math.Sin(t / 4e5)) + random.NextDouble());
                    store.Append(c, t, _counter[i]);
                }
            }
        }
    }
}
