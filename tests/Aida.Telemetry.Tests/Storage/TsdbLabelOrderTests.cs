using System.Globalization;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.Storage;

/// <summary>A select returns its series in label order (Prometheus' <c>labels.Compare</c>), which the store now keeps as
/// a rank per series as they arrive instead of comparing label sets at every select: right however the series arrive,
/// between selects or not, and whichever subset a selector picks.</summary>
public sealed class TsdbLabelOrderTests
{
    private static readonly long T0 = TsdbTests.T0;

    /// <summary>A random label set of metric <c>m</c> or <c>n</c>: values drawn from short strings that are prefixes of
    /// each other (so a prefix sorting first matters), label names that a set may or may not have.</summary>
    private static Labels RandomLabels(Random random)
    {
        string[] values = ["", "a", "aa", "ab", "b", "b0", "b00", "h1", "h10", "h2", "z"];
        var pairs = new List<(string, string)> { ("__name__", random.Next(4) == 0 ? "n" : "m") };
        foreach (var name in new[] { "hall", "rack", "gpu", "UUID" })
        {
            if (random.Next(3) > 0)
            {
                pairs.Add((name, values[random.Next(values.Length)] + random.Next(3).ToString(CultureInfo.InvariantCulture)));
            }
        }

        return Labels.From([.. pairs]);
    }

    private static void AssertInLabelOrder(IReadOnlyList<Labels> selected, IEnumerable<Labels> expected, string what)
    {
        var sorted = expected.ToList();
        sorted.Sort(Labels.Compare);
        Assert.True(sorted.Count == selected.Count, $"{what}: {sorted.Count} series expected, {selected.Count} selected");
        for (var i = 0; i < sorted.Count; i++)
        {
            Assert.True(sorted[i].Equals(selected[i]), $"{what}: at {i} {sorted[i]} expected, {selected[i]} selected");
        }
    }

    [Fact]
    public void SeriesArrivingInBatchesBetweenSelects_ComeOutOfEverySelectInLabelOrder()
    {
        var random = new Random(20261206);
        var now = T0 + 3_600_000;
        using var db = new Tsdb(new TsdbOptions { Clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(now)) });
        var all = new HashSet<Labels>();
        var lastSample = T0;
        LabelMatcher[] ofM = [LabelMatcher.MetricName("m")];
        LabelMatcher[] hallsH = [LabelMatcher.MetricName("m"), new LabelMatcher("hall", MatcherType.Regex, "h.*")];
        for (var batch = 0; batch < 8; batch++)
        {
            // Batches of 1 to 400 series, some already in the store (appended to again, not new).
            var size = batch == 3 ? 1 : random.Next(50, 400);
            for (var k = 0; k < size; k++)
            {
                var labels = RandomLabels(random);
                all.Add(labels);
                Assert.Equal(AppendStatus.Ok, db.Append(db.GetOrCreateSeries(labels), ++lastSample, k));
            }

            foreach (var (matchers, keep) in new (LabelMatcher[], Func<Labels, bool>)[]
            {
                (ofM, l => l.MetricName == "m"),
                (hallsH, l => l.MetricName == "m" && l.Get("hall") is { } h && h.StartsWith('h')),
            })
            {
                var what = $"batch {batch}, {string.Join(",", matchers.Select(m => m.ToString()))}";
                AssertInLabelOrder([.. db.Select(T0, now, matchers).Select(s => s.Labels)], all.Where(keep), what + ", select");
                AssertInLabelOrder(
                    [.. ((ILatestSampleSource)db).SelectLatest(T0, now, matchers).Select(s => s.Labels)], all.Where(keep), what + ", newest sample");
            }
        }
    }

    [Fact]
    public void AStoreReopened_RanksItsReplayedSeriesAndNewOnes_InLabelOrder()
    {
        var root = Path.Combine(Path.GetTempPath(), "aida-tsdb-order-" + Guid.NewGuid().ToString("N"));
        try
        {
            var random = new Random(7);
            var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0 + 60_000));
            var all = new HashSet<Labels>();
            for (var open = 0; open < 2; open++)
            {
                using var db = new Tsdb(new TsdbOptions { DataDirectory = root, Clock = clock });
                for (var k = 0; k < 200; k++)
                {
                    var labels = RandomLabels(random);
                    all.Add(labels);
                    db.Append(db.GetOrCreateSeries(labels), T0 + (open * 1000) + k, k);
                }

                LabelMatcher[] ofAny = [new LabelMatcher("__name__", MatcherType.Regex, ".+")];
                AssertInLabelOrder([.. db.Select(T0, T0 + 60_000, ofAny).Select(s => s.Labels)], all, $"open {open}");
            }
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, true);
            }
        }
    }
}
