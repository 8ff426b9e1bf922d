using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.PromQL;

public class PromQLSelectorTests
{
    private static MemorySeriesSource Source() => new MemorySeriesSource()
        .Add(Labels.Metric("up", ("job", "api"), ("instance", "a")), (0, 1), (60, 2), (120, 3))
        .Add(Labels.Metric("up", ("job", "api"), ("instance", "b")), (0, 10), (60, StaleMarker.Value), (120, 30))
        .Add(Labels.Metric("up", ("job", "db"), ("instance", "c")), (0, 100))
        .Add(Labels.Metric("down", ("job", "db")), (0, 7));

    [Theory]
    [InlineData(130, 3)] // the newest sample at or before the evaluation time
    [InlineData(120, 3)] // a sample exactly at the evaluation time counts
    [InlineData(119.999, 2)]
    [InlineData(420, 3)] // exactly five minutes old: still inside the lookback delta
    public void Lookback_TakesTheNewestSampleWithinFiveMinutes(double at, double expected) =>
        Assert.Equal(expected, Source().One("up{instance=\"a\"}", at));

    [Fact]
    public void Lookback_DropsSeriesOlderThanFiveMinutes() =>
        Assert.Empty(Source().At("up{instance=\"a\"}", 420.001));

    [Fact]
    public void StaleMarker_EndsTheSeriesUntilTheNextSample()
    {
        var s = Source();
        Assert.Equal(10, s.One("up{instance=\"b\"}", 59));
        Assert.Empty(s.At("up{instance=\"b\"}", 60));
        Assert.Empty(s.At("up{instance=\"b\"}", 119));
        Assert.Equal(30, s.One("up{instance=\"b\"}", 120));
    }

    [Fact]
    public void StaleMarker_IsIgnoredByRangeFunctions() =>
        Assert.Equal(2, Source().One("count_over_time(up{instance=\"b\"}[2m])", 120));

    [Theory]
    [InlineData("up", 3)]
    [InlineData("up{job=\"api\"}", 2)]
    [InlineData("up{job!=\"api\"}", 1)]
    [InlineData("up{instance=~\"a|c\"}", 2)]
    [InlineData("up{instance!~\"a|c\"}", 1)]
    [InlineData("up{instance=~\"a.*\"}", 1)] // regexes are anchored
    [InlineData("{__name__=~\"up|down\"}", 4)]
    [InlineData("{job=\"db\"}", 2)]
    [InlineData("{__name__=~\"u.*\", job=\"db\"}", 1)]
    [InlineData("up{nope=\"\"}", 3)] // an empty value matches a missing label
    public void Matchers(string query, int count) => Assert.Equal(count, Source().At(query, 120).Count);

    [Fact]
    public void Selector_KeepsTheMetricName() =>
        Assert.Equal(3, Source().At("up", 120)["up{instance=\"a\", job=\"api\"}"]);

    [Fact]
    public void Offset_ShiftsBackAndNegativeOffsetForward()
    {
        var s = Source();
        Assert.Equal(2, s.One("up{instance=\"a\"} offset 1m", 120));
        Assert.Equal(3, s.One("up{instance=\"a\"} offset -1m", 60));
        Assert.Equal(2, s.One("sum_over_time(up{instance=\"a\"}[1m] offset 1m)", 120) - 1);
    }

    [Fact]
    public void RangeSelector_IsInclusiveAtBothEnds_AndReturnsRawSamples()
    {
        var r = Source().Engine().Instant("up{instance=\"a\"}[1m]", 120_000);
        Assert.Equal(ResultType.Matrix, r.Type);
        var series = Assert.Single(r.Series);
        Assert.Equal([new Sample(60_000, 2), new Sample(120_000, 3)], series.Samples);
        Assert.Equal("up", series.Labels.MetricName);
    }

    [Fact]
    public void RangeQuery_EvaluatesAtEachStep()
    {
        var r = Source().Engine().Range("up{instance=\"a\"} * 2", 0, 180_000, 60_000);
        Assert.Equal(ResultType.Matrix, r.Type);
        var s = Assert.Single(r.Series);
        Assert.Equal("{instance=\"a\", job=\"api\"}", s.Labels.ToString());
        Assert.Equal([new Sample(0, 2), new Sample(60_000, 4), new Sample(120_000, 6), new Sample(180_000, 6)], s.Samples);
    }

    [Fact]
    public void RangeQuery_OfAScalar_IsOneSeriesWithoutLabels()
    {
        var r = Source().Engine().Range("time()", 0, 30_000, 10_000);
        var s = Assert.Single(r.Series);
        Assert.Equal(Labels.Empty, s.Labels);
        Assert.Equal([0.0, 10, 20, 30], s.Samples.Select(x => x.Value));
    }

    [Fact]
    public void RangeQuery_SeriesAppearAndDisappearWithStaleness()
    {
        var r = Source().Engine().Range("up{instance=\"b\"}", 0, 120_000, 30_000);
        var s = Assert.Single(r.Series);
        Assert.Equal([0L, 30_000, 120_000], s.Samples.Select(x => x.TimestampMs));
    }
}

public class PromQLAtModifierTests
{
    private static MemorySeriesSource Source() => new MemorySeriesSource()
        .AddEvery(Labels.Metric("c"), 15, Enumerable.Range(0, 41).Select(i => i * 15.0).ToArray());

    [Fact]
    public void At_PinsTheEvaluationTime()
    {
        var s = Source();
        Assert.Equal(60, s.One("c @ 60", 300));
        Assert.Equal(45, s.One("c @ 60 offset 15s", 300));
        Assert.Equal(1, s.One("rate(c[1m] @ 120)", 600), 12);
        Assert.Equal(3, s.One("count_over_time(c[2m:1m] @ 120)", 600));
    }

    [Fact]
    public void At_StartAndEnd_UseTheQueryRange()
    {
        var r = Source().Engine().Range("c @ start()", 60_000, 120_000, 30_000);
        Assert.All(Assert.Single(r.Series).Samples, p => Assert.Equal(60, p.Value));
        r = Source().Engine().Range("c @ end()", 60_000, 120_000, 30_000);
        Assert.All(Assert.Single(r.Series).Samples, p => Assert.Equal(120, p.Value));
    }

    [Fact]
    public void At_OnAnExpression_IsAParseError() =>
        Assert.Equal(7, Assert.Throws<Aida.Telemetry.Query.QueryException>(() => Source().At("sum(c) @ 1", 0)).Position);
}
