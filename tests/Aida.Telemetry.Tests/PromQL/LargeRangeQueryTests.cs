using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.PromQL;

/// <summary>A large range query gives the right shape of answer; its speed is measured in bench/ (RangeQueryBenchmarks), not here.</summary>
public class LargeRangeQueryTests
{
    [Fact]
    public void RangeQuery_OverManySeriesAndSteps_AnswersEveryGroupAndStep()
    {
        var s = new MemorySeriesSource();
        for (var i = 0; i < 100; i++)
        {
            s.AddEvery(Labels.Metric("c", ("i", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("g", (i % 5).ToString(System.Globalization.CultureInfo.InvariantCulture))), 15, Enumerable.Range(0, 2000).Select(k => k * 1.0 * (i + 1)).ToArray());
        }

        var r = s.Engine().Range("sum by (g) (rate(c[5m]))", 0, 30_000_000, 30_000);
        Assert.Equal(5, r.Series.Count);
        Assert.Equal(1000, r.Series[0].Samples.Count); // none at 0 s: a single sample gives no rate
    }
}
