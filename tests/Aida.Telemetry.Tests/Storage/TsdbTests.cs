using System.Diagnostics;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Aida.Telemetry.Tests.Storage;

public class TsdbTests(ITestOutputHelper output)
{
    internal static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    internal static readonly long T0 = Start.ToUnixTimeMilliseconds();

    private readonly FakeTimeProvider _clock = new(Start);

    private const long HourMs = 3_600_000;

    /// <summary>The start of the 1 h block three blocks before the one holding <see cref="T0"/>.</summary>
    private static readonly long ThreeBlocksBack = BlockStart(T0, HourMs) - (3 * HourMs);

    private Tsdb Memory() => new(new TsdbOptions { Clock = _clock });

    /// <summary>In memory, cut into 1 h blocks and never merged: three complete blocks fit before <see cref="T0"/>.</summary>
    private Tsdb HourlyBlocks() => new(new TsdbOptions { Clock = _clock, BlockDuration = TimeSpan.FromHours(1), MaxBlockDuration = TimeSpan.FromHours(1) });

    [Fact]
    public void Samples_RoundTripInMemory_OldestFirstWithinRange()
    {
        using var db = Memory();
        var a = db.GetOrCreateSeries(Labels.Metric("gpu_temp", ("gpu", "0")));
        var b = db.GetOrCreateSeries(Labels.Metric("gpu_temp", ("gpu", "1")));
        Assert.Equal(a, db.GetOrCreateSeries(Labels.Metric("gpu_temp", ("gpu", "0"))));
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(AppendStatus.Ok, db.Append(a, T0 - 10_000_000 + (i * 10_000L), i * 0.5));
            Assert.Equal(AppendStatus.Ok, db.Append(b, T0 - 10_000_000 + (i * 10_000L), -i));
        }

        var result = db.Select(T0 - 10_000_000 + 50_000, T0 - 10_000_000 + 99_000, [LabelMatcher.MetricName("gpu_temp")]).ToList();
        Assert.Equal(2, result.Count);
        Assert.Equal("0", result[0].Labels.Get("gpu"));
        Assert.Equal(Enumerable.Range(5, 5).Select(i => new Sample(T0 - 10_000_000 + (i * 10_000L), i * 0.5)), result[0].Samples);
        Assert.Empty(db.Select(T0, T0 + 1, [LabelMatcher.MetricName("gpu_temp")]));
        Assert.Equal(2000, db.Stats.SampleCount);
        Assert.Equal(2, db.Stats.SeriesCount);
    }

    [Fact]
    public void Append_FollowsPrometheusDuplicateAndOrderRules()
    {
        using var db = Memory();
        var s = db.GetOrCreateSeries(Labels.Metric("up"));
        Assert.Equal(AppendStatus.Ok, db.Append(s, T0, 1));
        Assert.Equal(AppendStatus.Duplicate, db.Append(s, T0, 1));
        Assert.Equal(AppendStatus.DuplicateConflict, db.Append(s, T0, 2));
        Assert.Equal(AppendStatus.OutOfOrder, db.Append(s, T0 - 1, 1));
        Assert.Equal(AppendStatus.Ok, db.Append(s, T0 + 1, double.NaN));
        // Values compare as bits: a staleness marker is not the same value as an ordinary NaN.
        Assert.Equal(AppendStatus.DuplicateConflict, db.Append(s, T0 + 1, StaleMarker.Value));
        Assert.Equal(AppendStatus.Duplicate, db.Append(s, T0 + 1, double.NaN));
        Assert.Equal([new Sample(T0, 1), new Sample(T0 + 1, double.NaN)], db.Select(0, long.MaxValue, [LabelMatcher.MetricName("up")]).Single().Samples);
    }

    [Fact]
    public void Append_TooFarInTheFuture_IsOutOfBoundsUntilTheClockCatchesUp()
    {
        using var db = Memory();
        var s = db.GetOrCreateSeries(Labels.Metric("up"));
        var limit = T0 + (long)TimeSpan.FromMinutes(10).TotalMilliseconds;
        Assert.Equal(AppendStatus.OutOfBounds, db.Append(s, limit + 1, 1));
        Assert.Equal(AppendStatus.Ok, db.Append(s, limit, 1));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(AppendStatus.Ok, db.Append(s, limit + 1, 1));
    }

    [Fact]
    public void StaleMarkers_KeepTheirBitPattern()
    {
        using var db = Memory();
        var s = db.GetOrCreateSeries(Labels.Metric("up"));
        db.Append(s, T0, 1);
        db.Append(s, T0 + 1, StaleMarker.Value);
        db.Append(s, T0 + 2, double.NaN);
        var samples = db.Select(0, long.MaxValue, [LabelMatcher.MetricName("up")]).Single().Samples;
        Assert.True(StaleMarker.Is(samples[1].Value));
        Assert.False(StaleMarker.Is(samples[2].Value));
        Assert.True(double.IsNaN(samples[2].Value));
    }

    [Fact]
    public void InvalidLabels_AreRefusedWithTheRuleBroken()
    {
        using var db = Memory();
        var e = Assert.Throws<InvalidSeriesException>(() => db.GetOrCreateSeries(Labels.Metric("up", ("host-name", "a"))));
        Assert.Equal(LabelRules.Validate(Labels.Metric("up", ("host-name", "a"))), e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => db.Append(42, T0, 1));
    }

    public static TheoryData<string, string[], string[]> MatcherCases => new()
    {
        // name, matchers as "label op value", expected series ids
        { "equal", ["__name__ = up", "job = a"], ["up-a-1", "up-a"] },
        { "not equal also keeps series without the label", ["__name__ = up", "instance != 1"], ["up-b-2", "up-a"] },
        { "regex", ["instance =~ 1|2"], ["up-a-1", "up-b-2"] },
        { "regex matching empty keeps series without the label", ["__name__ = up", "instance =~ 1|"], ["up-a-1", "up-a"] },
        { "not regex", ["__name__ = up", "instance !~ 1"], ["up-b-2", "up-a"] },
        { "absent label matches empty", ["instance = "], ["up-a", "temp-a"] },
        { "label present", ["instance != "], ["up-a-1", "up-b-2"] },
        { "no such value", ["job = zzz"], [] },
        { "no such label, non-empty value", ["zone = x"], [] },
    };

    [Theory]
    [MemberData(nameof(MatcherCases))]
    public void Select_AppliesAllMatchers(string name, string[] matchers, string[] expected)
    {
        _ = name;
        using var db = Memory();
        var series = new Dictionary<string, Labels>
        {
            ["up-a-1"] = Labels.Metric("up", ("job", "a"), ("instance", "1")),
            ["up-b-2"] = Labels.Metric("up", ("job", "b"), ("instance", "2")),
            ["up-a"] = Labels.Metric("up", ("job", "a")),
            ["temp-a"] = Labels.Metric("temp", ("job", "a")),
        };
        foreach (var labels in series.Values)
        {
            db.Append(db.GetOrCreateSeries(labels), T0, 1);
        }

        var parsed = matchers.Select(Parse).ToList();
        var found = db.Select(0, long.MaxValue, parsed).Select(s => s.Labels).ToHashSet();
        Assert.Equal(expected.Select(e => series[e]).ToHashSet(), found);
        Assert.Equal(found, db.Series(0, long.MaxValue, parsed).ToHashSet());
    }

    [Fact]
    public void LabelNamesAndValues_AreSorted()
    {
        using var db = Memory();
        db.GetOrCreateSeries(Labels.Metric("up", ("job", "b"), ("instance", "1")));
        db.GetOrCreateSeries(Labels.Metric("up", ("job", "a")));
        Assert.Equal(["__name__", "instance", "job"], db.LabelNames());
        Assert.Equal(["a", "b"], db.LabelValues("job"));
        Assert.Empty(db.LabelValues("zone"));
    }

    [Fact]
    public void AppendBatch_ReportsEachStatus()
    {
        using var db = Memory();
        var s = db.GetOrCreateSeries(Labels.Metric("up"));
        var statuses = new AppendStatus[4];
        var stored = db.AppendBatch([s, s, s, s], [T0, T0, T0 - 1, T0 + 1], [1, 2, 1, 1], statuses);
        Assert.Equal(2, stored);
        Assert.Equal([AppendStatus.Ok, AppendStatus.DuplicateConflict, AppendStatus.OutOfOrder, AppendStatus.Ok], statuses);
    }

    [Fact]
    public void Compaction_RaisesTheHeadLowerBound_InMemoryToo_AndSaysWhereItIs()
    {
        using var db = HourlyBlocks();
        var s = db.GetOrCreateSeries(Labels.Metric("up"));
        var other = db.GetOrCreateSeries(Labels.Metric("down"));
        var hour = HourMs;
        var baseT = ThreeBlocksBack;
        for (var t = baseT; t < baseT + (3 * hour) + 600_000; t += 10_000)
        {
            db.Append(s, t, t / 1000.0);
        }

        Assert.Null(db.AcceptsFrom);
        Assert.Equal(3, db.Compact());
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(baseT + (3 * hour)), db.AcceptsFrom);
        Assert.Equal(AppendStatus.OutOfBounds, db.Append(other, baseT + (3 * hour) - 1, 1));
        Assert.Equal(AppendStatus.Ok, db.Append(other, baseT + (3 * hour), 1));
        var samples = db.Select(baseT, long.MaxValue, [LabelMatcher.MetricName("up")]).Single().Samples;
        Assert.Equal(((3 * hour) + 600_000) / 10_000, samples.Count);
        Assert.Equal(3, db.Stats.BlockCount);
    }

    [Fact]
    public void Compaction_TakingASeriesOpenChunk_LeavesEveryLaterSampleReadable()
    {
        using var db = HourlyBlocks();
        var busy = db.GetOrCreateSeries(Labels.Metric("busy"));
        var quiet = db.GetOrCreateSeries(Labels.Metric("quiet"));
        var hour = HourMs;
        var baseT = ThreeBlocksBack;
        var expectedBusy = new List<Sample>();
        var expectedQuiet = new List<Sample>();
        void Append(int series, List<Sample> expected, long t)
        {
            Assert.Equal(AppendStatus.Ok, db.Append(series, t, t / 1000.0));
            expected.Add(new Sample(t, t / 1000.0));
        }

        // busy runs across the boundary; quiet stops after 30 min: one sealed chunk of 120 samples and an open one of 60,
        // both before the boundary, so the compaction takes quiet's open chunk too.
        for (var t = baseT; t < baseT + (3 * hour) + 600_000; t += 10_000)
        {
            Append(busy, expectedBusy, t);
            if (t < baseT + (hour / 2))
            {
                Append(quiet, expectedQuiet, t);
            }
        }

        Assert.Equal(3, db.Compact());
        _clock.Advance(TimeSpan.FromHours(1));
        for (var t = baseT + (3 * hour) + 600_000; t < baseT + (3 * hour) + 2_400_000; t += 10_000)
        {
            Append(busy, expectedBusy, t);
            Append(quiet, expectedQuiet, t);
        }

        Assert.Equal(expectedBusy, db.Select(baseT, long.MaxValue, [LabelMatcher.MetricName("busy")]).Single().Samples);
        Assert.Equal(expectedQuiet, db.Select(baseT, long.MaxValue, [LabelMatcher.MetricName("quiet")]).Single().Samples);

        // Only the head's part: the walk starts at the first chunk ending in range.
        var from = baseT + (3 * hour) + 1_800_000;
        Assert.Equal(expectedQuiet.Where(s => s.TimestampMs >= from), db.Select(from, long.MaxValue, [LabelMatcher.MetricName("quiet")]).Single().Samples);
    }

    [Fact]
    public void BulkAppend_Throughput()
    {
        const int seriesCount = 1000, rounds = 2000;
        using var db = new Tsdb(new TsdbOptions { Clock = _clock, FutureTolerance = TimeSpan.FromDays(365) });
        var ids = new int[seriesCount];
        for (var i = 0; i < seriesCount; i++)
        {
            ids[i] = db.GetOrCreateSeries(Labels.Metric("bench", ("i", i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }

        var ts = new long[seriesCount];
        var values = new double[seriesCount];
        var watch = Stopwatch.StartNew();
        for (var r = 0; r < rounds; r++)
        {
            Array.Fill(ts, T0 + (r * 10_000L));
            for (var i = 0; i < seriesCount; i++)
            {
                values[i] = Math.Round((i + r) * 0.1, 1);
            }

            db.AppendBatch(ids, ts, values);
        }

        watch.Stop();
        var rate = seriesCount * (double)rounds / watch.Elapsed.TotalSeconds;
        output.WriteLine($"bulk append, memory only: {rate / 1e6:F1} M samples/s ({seriesCount} series x {rounds} samples)");
        Assert.Equal((long)seriesCount * rounds, db.Stats.SampleCount);
    }

    internal static long BlockStart(long t, long block) => t - (((t % block) + block) % block);

    private static LabelMatcher Parse(string text)
    {
        var parts = text.Split(' ');
        var type = parts[1] switch { "=" => MatcherType.Equal, "!=" => MatcherType.NotEqual, "=~" => MatcherType.Regex, _ => MatcherType.NotRegex };
        return new LabelMatcher(parts[0], type, parts.Length > 2 ? parts[2] : "");
    }
}
