using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.PromQL;

public class PromQLAggregationTests
{
    private static MemorySeriesSource Source() => new MemorySeriesSource()
        .Add(Labels.Metric("m", ("job", "a"), ("i", "1")), (0, 1))
        .Add(Labels.Metric("m", ("job", "a"), ("i", "2")), (0, 2))
        .Add(Labels.Metric("m", ("job", "a"), ("i", "3")), (0, 6))
        .Add(Labels.Metric("m", ("job", "b"), ("i", "1")), (0, 10))
        .Add(Labels.Metric("m", ("job", "b"), ("i", "2")), (0, 10));

    [Theory]
    [InlineData("sum by (job) (m)", "{job=\"a\"}", 9)]
    [InlineData("sum(m) by (job)", "{job=\"b\"}", 20)]
    [InlineData("sum(m)", "{}", 29)]
    [InlineData("avg by (job) (m)", "{job=\"a\"}", 3)]
    [InlineData("count without (i) (m)", "{job=\"a\"}", 3)]
    [InlineData("min by (job) (m)", "{job=\"a\"}", 1)]
    [InlineData("max by (job) (m)", "{job=\"a\"}", 6)]
    [InlineData("group by (job) (m)", "{job=\"b\"}", 1)]
    [InlineData("stdvar by (job) (m)", "{job=\"a\"}", 14.0 / 3)]
    [InlineData("stddev by (job) (m)", "{job=\"b\"}", 0)]
    [InlineData("quantile by (job) (0.5, m)", "{job=\"a\"}", 2)]
    [InlineData("quantile by (job) (0.75, m)", "{job=\"a\"}", 4)]
    [InlineData("sum by (__name__) (m)", "m{}", 29)]
    [InlineData("sum without (job) (m)", "{i=\"1\"}", 11)]
    [InlineData("count_values by (job) (\"v\", m)", "{job=\"b\", v=\"10\"}", 2)]
    [InlineData("count_values(\"v\", m)", "{v=\"10\"}", 2)]
    public void Aggregates(string query, string series, double expected) =>
        Assert.Equal(expected, Source().At(query, 10)[series], 12);

    [Fact]
    public void Without_DropsTheMetricName() =>
        Assert.Equal(["{job=\"a\"}", "{job=\"b\"}"], Source().At("sum without (i) (m)", 10).Keys.Order());

    [Fact]
    public void Topk_KeepsTheSeriesLabels_LargestFirst()
    {
        var r = Source().Engine().Instant("topk(2, m{job=\"a\"})", 10_000);
        Assert.Equal(ResultType.Vector, r.Type);
        Assert.Equal([6.0, 2], r.Series.Select(s => s.Samples[0].Value));
        Assert.Equal("m{i=\"3\", job=\"a\"}", r.Series[0].Labels.ToString());
    }

    [Fact]
    public void Bottomk_PerGroup_SmallestFirst()
    {
        var r = Source().Engine().Instant("bottomk by (job) (1, m)", 10_000);
        Assert.Equal(2, r.Series.Count);
        Assert.Contains(r.Series, s => s.Labels.ToString() == "m{i=\"1\", job=\"a\"}" && s.Samples[0].Value == 1);
        var all = Source().Engine().Instant("bottomk(3, m)", 10_000);
        Assert.Equal([1.0, 2, 6], all.Series.Select(s => s.Samples[0].Value));
    }

    /// <summary>Regression (conformance with Prometheus 2.42): topk's result was ordered with a .NET sort; Prometheus orders
    /// the heap with Go's sort.Sort, so ties among more than 12 results came out differently. Heap of 13 equal values
    /// pushed in label order, the smallest last: Go's container/heap and pdqsort give this order.</summary>
    [Fact]
    public void Topk_OrdersTiesAsPrometheus()
    {
        var source = new MemorySeriesSource();
        for (var i = 0; i < 13; i++)
        {
            source.Add(Labels.Metric("m", ("i", i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture))), (0, i == 12 ? 1 : 2));
        }

        // Heap after the pushes: 12 01 00 03 04 02 06 07 08 09 10 11 05; pdqsort partitions around 06, then sorts the rest
        // by insertion.
        var order = source.Engine().Instant("topk(13, m)", 10_000).Series.Select(s => s.Labels.Get("i"));
        Assert.Equal(["06", "01", "00", "03", "04", "02", "07", "08", "09", "10", "11", "05", "12"], order);
    }

    [Fact]
    public void Topk_WithKBelowOne_IsEmpty() => Assert.Empty(Source().At("topk(0, m)", 10));

    [Fact]
    public void Topk_RankNaNLast()
    {
        var s = new MemorySeriesSource()
            .Add(Labels.Metric("n", ("i", "1")), (0, double.NaN))
            .Add(Labels.Metric("n", ("i", "2")), (0, 1))
            .Add(Labels.Metric("n", ("i", "3")), (0, 2));
        var r = s.Engine().Instant("topk(2, n)", 0);
        Assert.Equal([2.0, 1], r.Series.Select(x => x.Samples[0].Value));
    }

    [Fact]
    public void Avg_OfLargeValues_DoesNotOverflow() =>
        Assert.Equal(1.25e308, new MemorySeriesSource()
            .Add(Labels.Metric("big", ("i", "1")), (0, 1e308))
            .Add(Labels.Metric("big", ("i", "2")), (0, 1.5e308))
            .One("avg(big)", 0), 1e294);

    [Fact]
    public void Aggregation_OfNothing_IsEmpty() => Assert.Empty(Source().At("sum(nothing)", 10));
}
