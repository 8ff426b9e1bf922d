using Aida.Observability.Anomalies;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Observability.Tests.Anomalies;

/// <summary>The median and MAD by selection give exactly what sorting gives (the anomaly scan's baselines depend on it).</summary>
public sealed class RobustStatisticsTests
{
    private static double SortedMedian(double[] values)
    {
        var s = values.Order().ToArray();
        var mid = s.Length / 2;
        return s.Length % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
    }

    [Property(MaxTest = 500, Replay = "1234567890123456789,987654321987654321")]
    public Property Median_IsTheSortedMiddle(NormalFloat[] raw, bool quantise)
    {
        // Quantised values (many ties, as a 0.1 K sensor gives) and continuous ones.
        var values = raw.Select(v => quantise ? Math.Round(v.Get % 5, 1) : v.Get).ToArray();
        if (values.Length == 0)
        {
            return true.ToProperty();
        }

        var scratch = new double[values.Length];
        var median = RobustStatistics.Median(values, scratch);
        var (baseline, sigma) = RobustStatistics.Baseline(values, scratch, 0);
        var mad = SortedMedian([.. values.Select(v => Math.Abs(v - SortedMedian(values)))]);
        var meanDeviation = values.Average(v => Math.Abs(v - SortedMedian(values)));
        var expectedSigma = Math.Max(RobustStatistics.MadToSigma * mad, RobustStatistics.MeanDeviationToSigma * meanDeviation);
        return (median == SortedMedian(values) && baseline == median && Math.Abs(sigma - expectedSigma) <= 1e-12 * Math.Max(1, expectedSigma))
            .Label($"median {median} vs {SortedMedian(values)}, sigma {sigma} vs {expectedSigma}");
    }

    [Fact]
    public void Median_LeavesTheInputAlone()
    {
        double[] values = [3, 1, 2, 5, 4, 4];
        var scratch = new double[6];

        Assert.Equal(3.5, RobustStatistics.Median(values, scratch));
        Assert.Equal([3, 1, 2, 5, 4, 4], values);
    }
}
