using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.PromQL;

public class PromQLBinaryOperatorTests
{
    private static MemorySeriesSource Source() => new MemorySeriesSource()
        .Add(Labels.Metric("req", ("job", "api"), ("code", "200"), ("inst", "a")), (0, 80))
        .Add(Labels.Metric("req", ("job", "api"), ("code", "500"), ("inst", "a")), (0, 20))
        .Add(Labels.Metric("req", ("job", "db"), ("code", "200"), ("inst", "b")), (0, 50))
        .Add(Labels.Metric("total", ("job", "api"), ("inst", "a")), (0, 100))
        .Add(Labels.Metric("total", ("job", "db"), ("inst", "b")), (0, 200))
        .Add(Labels.Metric("info", ("job", "api"), ("team", "red"), ("version", "1")), (0, 1))
        .Add(Labels.Metric("info", ("job", "db"), ("team", "blue"), ("version", "2")), (0, 1))
        .Add(Labels.Metric("x", ("k", "1")), (0, 3))
        .Add(Labels.Metric("y", ("k", "1")), (0, 4))
        .Add(Labels.Metric("y", ("k", "2")), (0, 5));

    [Fact]
    public void Arithmetic_WithScalars_DropsTheName()
    {
        var s = Source();
        Assert.Equal(6, s.At("x * 2", 10)["{k=\"1\"}"]);
        Assert.Equal(-1, s.At("2 - x", 10)["{k=\"1\"}"]);
        Assert.Equal(8, s.At("2 ^ x", 10)["{k=\"1\"}"]);
        Assert.Equal(-3, s.At("-x", 10)["{k=\"1\"}"]);
    }

    [Fact]
    public void Comparisons_FilterAndKeepTheName_BoolReturnsZeroOrOne()
    {
        var s = Source();
        Assert.Equal(["y{k=\"2\"}"], s.At("y > 4", 10).Keys);
        Assert.Equal(5, s.At("4 < y", 10)["y{k=\"2\"}"]); // the vector's value, even on the right
        Assert.Equal(0, s.At("y > bool 4", 10)["{k=\"1\"}"]);
        Assert.Equal(1, s.At("4 < bool y", 10)["{k=\"2\"}"]);
    }

    [Fact]
    public void OneToOne_MatchesOnIdenticalLabels()
    {
        var r = Source().At("x + y", 10);
        Assert.Equal(7, Assert.Single(r).Value);
        Assert.Equal("{k=\"1\"}", r.Keys.Single());
    }

    [Fact]
    public void On_KeepsOnlyTheMatchingLabels()
    {
        var r = Source().At("sum by (job, inst) (req) / on(job) total", 10);
        Assert.Equal(1, r["{job=\"api\"}"]);
        Assert.Equal(0.25, r["{job=\"db\"}"]);
    }

    [Fact]
    public void Ignoring_DropsTheIgnoredLabels()
    {
        var r = Source().At("req{code=\"500\"} / ignoring(code) total", 10);
        Assert.Equal(0.2, r["{inst=\"a\", job=\"api\"}"], 12);
    }

    [Fact]
    public void GroupLeft_ManyToOne_CopiesExtraLabelsFromTheOneSide()
    {
        var r = Source().At("req * on(job) group_left(team) info", 10);
        Assert.Equal(3, r.Count);
        Assert.Equal(80, r["{code=\"200\", inst=\"a\", job=\"api\", team=\"red\"}"]);
        Assert.Equal(20, r["{code=\"500\", inst=\"a\", job=\"api\", team=\"red\"}"]);
        Assert.Equal(50, r["{code=\"200\", inst=\"b\", job=\"db\", team=\"blue\"}"]);
    }

    [Fact]
    public void GroupRight_OneToMany_KeepsTheManySidesLabels_AndTheOperandOrder()
    {
        var r = Source().At("total / ignoring(code) group_right req", 10);
        Assert.Equal(100.0 / 80, r["{code=\"200\", inst=\"a\", job=\"api\"}"], 12);
        Assert.Equal(5, r["{code=\"500\", inst=\"a\", job=\"api\"}"], 12);
    }

    [Fact]
    public void GroupLeft_ComparisonKeepsTheLeftName()
    {
        var r = Source().At("req > on(job) group_left total * 0", 10);
        Assert.Equal(3, r.Count);
        Assert.True(r.ContainsKey("req{code=\"200\", inst=\"b\", job=\"db\"}"));
    }

    [Fact]
    public void ManyToMany_WithoutGrouping_IsAnError()
    {
        var ex = Assert.Throws<QueryException>(() => Source().At("total / on(job) req", 10));
        Assert.Contains("found duplicate series for the match group {job=\"api\"} on the right hand-side", ex.Message, StringComparison.Ordinal);
        Assert.Contains("many-to-many matching not allowed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ManyToOne_WithoutGroupLeft_IsAnError()
    {
        var ex = Assert.Throws<QueryException>(() => Source().At("req / ignoring(code) total", 10));
        Assert.Contains("many-to-one matching must be explicit", ex.Message, StringComparison.Ordinal);
        Assert.Equal("execution", ex.ErrorType);
    }

    [Fact]
    public void SetOperators()
    {
        var s = Source();
        Assert.Equal(["y{k=\"1\"}"], s.At("y and x", 10).Keys);
        Assert.Equal(["y{k=\"2\"}"], s.At("y unless x", 10).Keys);
        Assert.Equal(2, s.At("x or y", 10).Count); // y{k="1"} matches x{k="1"} once the name is ignored
        Assert.Equal(3, s.At("req and on(job) total", 10).Count);
        Assert.Equal(2, s.At("req{code=\"200\"} or on(job) info", 10).Count);
        Assert.Empty(s.At("y and nothing", 10));
        Assert.Equal(2, s.At("y unless nothing", 10).Count);
    }

    [Fact]
    public void Precedence_AndBindsTighterThanOr()
    {
        // x or (y and nothing): x alone.
        Assert.Equal(["x{k=\"1\"}"], Source().At("x or y and nothing", 10).Keys);
    }

    [Fact]
    public void SameLabelsetAfterDroppingTheName_IsAnError()
    {
        var ex = Assert.Throws<QueryException>(() => Source().At("{k=\"1\"} * 1", 10));
        Assert.Contains("vector cannot contain metrics with the same labelset", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ScalarVectorMix_InRangeQuery()
    {
        var r = Source().Engine().Range("x + time()", 0, 20_000, 10_000);
        Assert.Equal([3.0, 13, 23], Assert.Single(r.Series).Samples.Select(p => p.Value));
    }
}
