using Aida.Telemetry.PromQL;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.PromQL;

/// <summary>avg_over_time sums each window by 60 s grid segments (so range queries share whole segments' sums between
/// windows); it must agree with Prometheus 2.42's incremental mean with Neumaier compensation within rounding, and be that
/// formula bit for bit where a window holds an infinity or NaN.</summary>
public class PromQLAvgOverTimeTests
{
    [Fact]
    public void MatchesPrometheusIncrementalMean()
    {
        var random = new Random(5);
        var source = new MemorySeriesSource();
        var all = new List<(Labels Labels, List<(double Seconds, double Value)> Samples)>();
        for (var k = 0; k < 11; k++)
        {
            var samples = new List<(double, double)>();
            var first = k % 3 * 20;
            for (var t = first; t <= 600; t += 10 + (k % 2 * 5))
            {
                var v = (random.NextDouble() - 0.3) * Math.Pow(10, random.Next(-3, 300));
                var r = random.Next(60);
                v = r switch
                {
                    0 when k % 4 == 1 => double.PositiveInfinity,
                    1 when k % 4 == 2 => double.NegativeInfinity,
                    2 when k == 7 => double.NaN,
                    _ => v,
                };
                samples.Add((t, v));
            }

            var labels = Labels.Metric("m", ("k", k.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            source.Add(labels, [.. samples]);
            all.Add((labels, samples));
        }

        var result = new PromQLEngine(source).Range("avg_over_time(m[2m])", 0, 600_000, 10_000);
        var checkedValues = 0;
        foreach (var (labels, samples) in all)
        {
            var series = result.Series.Single(s => s.Labels.Get("k") == labels.Get("k"));
            foreach (var point in series.Samples)
            {
                var window = samples.Where(s => s.Seconds * 1000 >= point.TimestampMs - 120_000 && s.Seconds * 1000 <= point.TimestampMs).Select(s => s.Value).ToList();
                var expected = Reference(window);
                if (window.All(double.IsFinite))
                {
                    // Rounding differs between the two orders of addition: a few units in the last place of the largest value.
                    var scale = window.Max(Math.Abs);
                    Assert.True(Math.Abs(expected - point.Value) <= 1e-13 * scale, $"k={labels.Get("k")} t={point.TimestampMs}: {expected} != {point.Value}");
                }
                else
                {
                    Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(point.Value) || (double.IsNaN(expected) && double.IsNaN(point.Value)), $"k={labels.Get("k")} t={point.TimestampMs}: {expected} != {point.Value}");
                }

                checkedValues++;
            }
        }

        Assert.True(checkedValues > 500);
    }

    [Fact]
    public void AHugeValueDoesNotBleedIntoLaterWindows()
    {
        // A spike of 1e20 early in the range query must leave the later windows' averages of small values exact (a
        // running sum over the whole series would lose them).
        var source = new MemorySeriesSource();
        var samples = Enumerable.Range(1, 120).Select(i => ((double)(i * 10), i == 3 ? 1e20 : 1.0 + (i * 1e-3))).ToArray();
        source.Add(Labels.Metric("m"), samples);
        var engine = new PromQLEngine(source);
        var last = engine.Range("avg_over_time(m[5m])", 300_000, 1_200_000, 60_000).Series.Single().Samples[^1];
        var window = samples.Where(s => s.Item1 >= 900 && s.Item1 <= 1200).Select(s => (decimal)s.Item2).ToList();
        Assert.Equal(1_200_000, last.TimestampMs);
        Assert.Equal((double)(window.Sum() / window.Count), last.Value, 1e-15);
        Assert.Equal(engine.Instant("avg_over_time(m[5m])", 1_200_000).Series.Single().Samples[0].Value, last.Value);
    }

    private static double Reference(IEnumerable<double> values)
    {
        double mean = 0, count = 0, c = 0;
        foreach (var v in values)
        {
            count++;
            if (double.IsInfinity(mean))
            {
                if (double.IsInfinity(v) && (mean > 0) == (v > 0))
                {
                    continue;
                }

                if (!double.IsInfinity(v) && !double.IsNaN(v))
                {
                    continue;
                }
            }

            var inc = (v / count) - (mean / count);
            var t = mean + inc;
            c += Math.Abs(mean) >= Math.Abs(inc) ? (mean - t) + inc : (inc - t) + mean;
            mean = t;
        }

        return double.IsInfinity(mean) ? mean : mean + c;
    }
}
