using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.PromQL;

public class PromQLRangeFunctionTests
{
    private static MemorySeriesSource Counter(params (double, double)[] samples) =>
        new MemorySeriesSource().Add(Labels.Metric("c", ("job", "j")), samples);

    [Fact]
    public void Rate_AddsBackCounterResets()
    {
        // 0, 10, 20, reset to 5, 15: increase 15 - 0 + 20 = 35 over exactly the window.
        var s = Counter((0, 0), (15, 10), (30, 20), (45, 5), (60, 15));
        Assert.Equal(35, s.One("increase(c[1m])", 60), 12);
        Assert.Equal(35.0 / 60, s.One("rate(c[1m])", 60), 12);
        Assert.Equal(1, s.One("resets(c[1m])", 60));
        Assert.Equal(4, s.One("changes(c[1m])", 60));
    }

    [Fact]
    public void Rate_ExtrapolatesToTheWindowEdges()
    {
        // Samples 5 s after the start and 10 s before the end, both under 1.1 x the 15 s spacing: extrapolate fully.
        var s = Counter((5, 10), (20, 20), (35, 30), (50, 40));
        Assert.Equal(40, s.One("increase(c[1m])", 60), 12);
        Assert.Equal(30.0 / 45, s.One("rate(c[1m])", 60), 12);
    }

    [Fact]
    public void Rate_ExtrapolatesHalfASpacingWhenTheSeriesStartsInsideTheWindow()
    {
        // 30 s gap at the start exceeds 1.1 x 15 s: only 7.5 s are added. 20 * 37.5 / 30 = 25.
        var s = Counter((30, 100), (45, 110), (60, 120));
        Assert.Equal(25, s.One("increase(c[1m])", 60), 12);
    }

    [Fact]
    public void Rate_DoesNotExtrapolateBelowZero()
    {
        // The counter would reach zero 1.5 s before its first sample: extrapolate 1.5 s, not 30 s. 20 * 31.5 / 30 = 21.
        var s = Counter((30, 1), (45, 11), (60, 21));
        Assert.Equal(21, s.One("increase(c[1m])", 60), 12);
    }

    [Fact]
    public void Delta_ExtrapolatesGauges()
    {
        var s = Counter((30, 10), (60, 5));
        Assert.Equal(-10, s.One("delta(c[1m])", 60), 12);
    }

    [Fact]
    public void Rate_NeedsTwoSamples_AndDropsTheMetricName()
    {
        var s = Counter((0, 1), (30, 4));
        Assert.Empty(s.At("rate(c[20s])", 30));
        Assert.Equal("{job=\"j\"}", Assert.Single(s.At("rate(c[1m])", 30)).Key);
    }

    [Fact]
    public void Irate_UsesTheLastTwoSamples()
    {
        var s = Counter((0, 0), (15, 10), (30, 20), (45, 5), (60, 15));
        Assert.Equal(10.0 / 15, s.One("irate(c[1m])", 60), 12);
        Assert.Equal(5.0 / 15, s.One("irate(c[1m])", 45), 12); // after a reset, the new value is the increase
        Assert.Equal(-15, s.One("idelta(c[1m])", 45), 12);
    }

    [Fact]
    public void OverTimeAggregates()
    {
        var s = Counter((15, 1), (30, 2), (45, 3), (60, 4));
        Assert.Equal(2.5, s.One("avg_over_time(c[1m])", 60), 12);
        Assert.Equal(1, s.One("min_over_time(c[1m])", 60));
        Assert.Equal(4, s.One("max_over_time(c[1m])", 60));
        Assert.Equal(10, s.One("sum_over_time(c[1m])", 60));
        Assert.Equal(4, s.One("count_over_time(c[1m])", 60));
        Assert.Equal(Math.Sqrt(1.25), s.One("stddev_over_time(c[1m])", 60), 12);
        Assert.Equal(1.25, s.One("stdvar_over_time(c[1m])", 60), 12);
        Assert.Equal(2.5, s.One("quantile_over_time(0.5, c[1m])", 60), 12);
        Assert.Equal(1.75, s.One("quantile_over_time(0.25, c[1m])", 60), 12);
        Assert.Equal(double.PositiveInfinity, s.One("quantile_over_time(2, c[1m])", 60));
        Assert.Equal(1, s.One("present_over_time(c[1m])", 60));
        Assert.Equal(3, s.One("count_over_time(c[30s])", 60)); // [30 s, 60 s] includes both ends
    }

    [Fact]
    public void LastOverTime_KeepsTheMetricName()
    {
        var s = Counter((15, 1), (30, 2));
        Assert.Equal(2, s.At("last_over_time(c[1m])", 60)["c{job=\"j\"}"]);
        Assert.True(s.At("max_over_time(c[1m])", 60).ContainsKey("{job=\"j\"}"));
    }

    [Fact]
    public void Deriv_AndPredictLinear_FitALine()
    {
        var s = Counter((0, 0), (15, 30), (30, 60), (45, 90), (60, 120));
        Assert.Equal(2, s.One("deriv(c[1m])", 60), 12);
        Assert.Equal(240, s.One("predict_linear(c[1m], 60)", 60), 9);
        Assert.Equal(0, s.One("deriv(c[1m])", 60) - 2, 12);
    }

    [Fact]
    public void Deriv_OfAConstantIsZero() =>
        Assert.Equal(0, Counter((0, 5), (15, 5), (30, 5)).One("deriv(c[1m])", 30));

    [Fact]
    public void AbsentOverTime()
    {
        var s = Counter((0, 1));
        Assert.Empty(s.At("absent_over_time(c[1m])", 30));
        Assert.Equal(1, s.At("absent_over_time(c{job=\"x\", a=~\"b\"}[1m])", 30)["{job=\"x\"}"]);
    }

    [Fact]
    public void Subquery_UsesAbsoluteAlignedSteps()
    {
        // c = t/15 s; [2m:1m] at 150 s covers 30..150 s, steps aligned to multiples of 60 s: 60 s and 120 s.
        var s = Counter(Enumerable.Range(0, 20).Select(i => (i * 15.0, (double)i)).ToArray());
        Assert.Equal(2, s.One("count_over_time(c[2m:1m])", 150));
        Assert.Equal(12, s.One("sum_over_time(c[2m:1m])", 150)); // 4 + 8
        Assert.Equal(3, s.One("count_over_time(c[2m:])", 120)); // default step 1 m: 0, 60, 120 s
        Assert.Equal(8, s.One("max_over_time(c[2m:30s] offset 30s)", 150)); // 0..120 s: max at 120 s
    }

    [Fact]
    public void Subquery_OverRate()
    {
        var s = Counter(Enumerable.Range(0, 41).Select(i => (i * 15.0, i * 30.0)).ToArray());
        Assert.Equal(2, s.One("max_over_time(rate(c[1m])[5m:1m])", 600), 12);
        Assert.Equal(2, s.One("avg_over_time(rate(c[1m])[5m:])", 600), 12);
    }
}
