using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.PromQL;

public class PromQLFunctionTests
{
    private static MemorySeriesSource Source() => new MemorySeriesSource()
        .Add(Labels.Metric("g", ("i", "1")), (0, -1.5), (50, -2.5))
        .Add(Labels.Metric("g", ("i", "2")), (0, 2.25), (50, 3.75))
        .Add(Labels.Metric("h", ("le", "0.1")), (0, 10))
        .Add(Labels.Metric("h", ("le", "0.5")), (0, 20))
        .Add(Labels.Metric("h", ("le", "1")), (0, 30))
        .Add(Labels.Metric("h", ("le", "+Inf")), (0, 40));

    [Theory]
    [InlineData("abs(g)", 2.5, 3.75)]
    [InlineData("ceil(g)", -2, 4)]
    [InlineData("floor(g)", -3, 3)]
    [InlineData("round(g)", -2, 4)] // ties round up
    [InlineData("round(g, 0.5)", -2.5, 4)]
    [InlineData("clamp_min(g, 0)", 0, 3.75)]
    [InlineData("clamp_max(g, 0)", -2.5, 0)]
    [InlineData("clamp(g, -1, 1)", -1, 1)]
    [InlineData("sgn(g)", -1, 1)]
    [InlineData("g * 0 + time()", 60, 60)]
    [InlineData("timestamp(g)", 50, 50)] // the sample's own time, not the evaluation time
    [InlineData("timestamp(g * 1)", 60, 60)]
    public void ElementwiseFunctions_DropTheName(string query, double first, double second)
    {
        var r = Source().At(query, 60);
        Assert.Equal(first, r["{i=\"1\"}"], 12);
        Assert.Equal(second, r["{i=\"2\"}"], 12);
    }

    [Fact]
    public void Clamp_WithMaxBelowMin_IsEmpty() => Assert.Empty(Source().At("clamp(g, 1, -1)", 60));

    [Theory]
    [InlineData(0.5, 0.5)]
    [InlineData(0.25, 0.1)]
    [InlineData(0.1, 0.04)]
    [InlineData(0.9, 1)] // in the +Inf bucket: the highest finite bound
    [InlineData(-1, double.NegativeInfinity)]
    [InlineData(2, double.PositiveInfinity)]
    public void HistogramQuantile_InterpolatesInsideTheBucket(double q, double expected) =>
        Assert.Equal(expected, Source().One($"histogram_quantile({q.ToString(System.Globalization.CultureInfo.InvariantCulture)}, h)", 10), 12);

    [Fact]
    public void HistogramQuantile_GroupsByLabelsOtherThanLe()
    {
        var s = new MemorySeriesSource()
            .Add(Labels.Metric("b", ("le", "1"), ("job", "x")), (0, 0))
            .Add(Labels.Metric("b", ("le", "2"), ("job", "x")), (0, 10))
            .Add(Labels.Metric("b", ("le", "+Inf"), ("job", "x")), (0, 10))
            .Add(Labels.Metric("b", ("le", "1"), ("job", "y")), (0, 5));
        var r = s.At("histogram_quantile(0.5, b)", 10);
        Assert.Equal(1.5, r["{job=\"x\"}"], 12);
        Assert.True(double.IsNaN(r["{job=\"y\"}"])); // no +Inf bucket
    }

    [Fact]
    public void Sort_AndSortDesc_OrderByValue()
    {
        var e = Source().Engine();
        Assert.Equal([-2.5, 3.75], e.Instant("sort(g)", 60_000).Series.Select(s => s.Samples[0].Value));
        Assert.Equal([3.75, -2.5], e.Instant("sort_desc(g)", 60_000).Series.Select(s => s.Samples[0].Value));
        Assert.Equal("g{i=\"2\"}", e.Instant("sort_desc(g)", 60_000).Series[0].Labels.ToString());
    }

    /// <summary>Regression (conformance with Prometheus 2.42): histogram_quantile(NaN, ...) answered the second-highest
    /// bucket bound; Prometheus' bucketQuantile returns NaN for a NaN quantile.</summary>
    [Fact]
    public void HistogramQuantile_OfNaN_IsNaN()
    {
        var s = new MemorySeriesSource()
            .Add(Labels.Metric("b", ("le", "1")), (0, 4))
            .Add(Labels.Metric("b", ("le", "2")), (0, 8))
            .Add(Labels.Metric("b", ("le", "+Inf")), (0, 10));
        Assert.True(double.IsNaN(s.One("histogram_quantile(NaN, b)", 10)));
        Assert.Equal(1.5, s.One("histogram_quantile(0.6, b)", 10), 12);
    }

    /// <summary>Regression (conformance with Prometheus 2.42): sort() and sort_desc() used a stable sort, but Prometheus
    /// uses Go's sort.Sort (pattern-defeating quicksort, not stable), so equal values came out in a different order once a
    /// vector had more than 12 elements. Expected order traced by hand through Go 1.19's pdqsort: one partition around
    /// element 6, then insertion sort.</summary>
    [Theory]
    [InlineData("sort(m)", 2.0, 1.0)]
    [InlineData("sort_desc(m)", 1.0, 2.0)]
    public void Sort_BreaksTiesAsGosSortSort(string query, double many, double one)
    {
        var source = new MemorySeriesSource();
        for (var i = 0; i < 13; i++)
        {
            source.Add(Labels.Metric("m", ("i", i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture))), (0, i == 12 ? one : many));
        }

        var order = source.Engine().Instant(query, 10_000).Series.Select(s => s.Labels.Get("i"));
        Assert.Equal(["12", "06", "02", "03", "04", "05", "00", "07", "08", "09", "10", "11", "01"], order);
    }

    [Fact]
    public void ScalarAndVector()
    {
        var s = Source();
        Assert.Equal(3.75, s.One("scalar(g{i=\"2\"})", 60));
        Assert.True(double.IsNaN(s.One("scalar(g)", 60))); // more than one element
        Assert.Equal(4, s.At("vector(4)", 60)["{}"]);
        Assert.Equal(60, s.One("time()", 60));
    }

    [Fact]
    public void Absent_LabelsComeFromEqualityMatchers()
    {
        var s = Source();
        Assert.Empty(s.At("absent(g)", 60));
        Assert.Equal(1, s.At("absent(nope{job=\"a\", env=~\"x\", inst=\"1\", inst=\"2\"})", 60)["{job=\"a\"}"]);
        Assert.Equal(1, s.At("absent(sum(nope))", 60)["{}"]);
    }

    [Fact]
    public void LabelReplace_AndLabelJoin()
    {
        var s = Source();
        Assert.True(s.At("label_replace(g, \"x\", \"v$1\", \"i\", \"(.*)\")", 60).ContainsKey("g{i=\"1\", x=\"v1\"}"));
        Assert.True(s.At("label_replace(g, \"x\", \"$1x\", \"i\", \"(.*)\")", 60).ContainsKey("g{i=\"1\"}")); // $1x names group "1x"
        Assert.True(s.At("label_join(g, \"x\", \"-\", \"__name__\", \"i\")", 60).ContainsKey("g{i=\"2\", x=\"g-2\"}"));
    }

    [Fact]
    public void DateFunctions()
    {
        var s = new MemorySeriesSource().Add(Labels.Metric("t"), (0, 1_700_000_000)); // 2023-11-14T22:13:20Z
        Assert.Equal(22, s.One("hour(t)", 10));
        Assert.Equal(13, s.One("minute(t)", 10));
        Assert.Equal(11, s.One("month(t)", 10));
        Assert.Equal(2023, s.One("year(t)", 10));
        Assert.Equal(14, s.One("day_of_month(t)", 10));
        Assert.Equal(2, s.One("day_of_week(t)", 10));
        Assert.Equal(30, s.One("days_in_month(t)", 10));
        Assert.Equal(1970, s.One("year()", 10));
    }

    [Fact]
    public void Cancellation_IsAQueryException()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var ex = Assert.Throws<QueryException>(() => Source().Engine().Instant("g", 0, cts.Token));
        Assert.Equal("canceled", ex.ErrorType);
    }

    [Fact]
    public async Task EmbeddedEngine_AnswersQueriesAndMetadata()
    {
        var engine = new EmbeddedQueryEngine(Source());
        var t0 = DateTimeOffset.UnixEpoch;
        var r = await engine.QueryAsync("sum(g)", t0.AddSeconds(60));
        Assert.Equal(1.25, r.Series.Single().Samples[0].Value, 12);
        var range = await engine.QueryRangeAsync("g", t0, t0.AddSeconds(60), TimeSpan.FromSeconds(30));
        Assert.Equal(2, range.Series.Count);
        Assert.Equal(3, range.Series[0].Samples.Count);
        var series = await engine.SeriesAsync(["g{i=\"1\"}", "h{le=\"1\"}"], t0, t0.AddMinutes(1));
        Assert.Equal(["g{i=\"1\"}", "h{le=\"1\"}"], series.Select(l => l.ToString()));
        Assert.Equal(["__name__", "i", "le"], await engine.LabelNamesAsync(t0, t0.AddMinutes(1)));
        Assert.Equal(["+Inf", "0.1", "0.5", "1"], await engine.LabelValuesAsync("le", t0, t0.AddMinutes(1)));
    }
}
