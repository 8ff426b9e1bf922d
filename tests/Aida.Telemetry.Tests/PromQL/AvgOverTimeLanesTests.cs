using Aida.Telemetry.PromQL;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.PromQL;

/// <summary>avg_over_time evaluates series four at a time in vector lanes; every result must equal, bit for bit, the
/// one-sample-at-a-time formula (Prometheus 2.42's incremental mean with Neumaier compensation), infinities included.</summary>
public class PromQLAvgOverTimeLanesTests
{
    [Fact]
    public void MatchesTheScalarFormulaBitForBit()
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
                var window = samples.Where(s => s.Seconds * 1000 >= point.TimestampMs - 120_000 && s.Seconds * 1000 <= point.TimestampMs).Select(s => s.Value);
                var expected = Reference(window);
                Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(point.Value) || (double.IsNaN(expected) && double.IsNaN(point.Value)), $"k={labels.Get("k")} t={point.TimestampMs}: {expected} != {point.Value}");
                checkedValues++;
            }
        }

        Assert.True(checkedValues > 500);
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
