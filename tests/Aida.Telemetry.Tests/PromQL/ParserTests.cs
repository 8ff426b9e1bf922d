using Aida.Telemetry.PromQL;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Tests.PromQL;

public class PromQLParserTests
{
    private static readonly MemorySeriesSource Empty = new();

    [Theory]
    [InlineData("2 * 3 ^ 2", 18)] // ^ binds tighter than *
    [InlineData("-2 ^ 2", -4)] // unary minus binds looser than ^
    [InlineData("2 ^ 3 ^ 2", 512)] // ^ is right-associative
    [InlineData("2 ^ -1", 0.5)]
    [InlineData("10 - 2 - 3", 5)] // left-associative
    [InlineData("12 / 2 / 3", 2)]
    [InlineData("(1 + 2) * 3", 9)]
    [InlineData("1 + 2 * 3", 7)]
    [InlineData("-1 + 2", 1)]
    [InlineData("- 2 * 3", -6)]
    [InlineData("10 % 3", 1)]
    [InlineData("-7 % 3", -1)] // fmod keeps the dividend's sign
    [InlineData("0x10", 16)]
    [InlineData("1e3", 1000)]
    [InlineData(".5", 0.5)]
    [InlineData("1 + 2 * 3 > bool 6", 1)] // comparison binds looser than arithmetic
    [InlineData("2 == bool 3", 0)]
    [InlineData("3 >= bool 3", 1)]
    [InlineData("+Inf", double.PositiveInfinity)]
    [InlineData("-inf", double.NegativeInfinity)]
    [InlineData("1 atan2 1", Math.PI / 4)]
    [InlineData("# a comment\n 42", 42)]
    public void ScalarExpressions(string query, double expected) =>
        Assert.Equal(expected, Empty.One(query, 100), 12);

    [Fact]
    public void NaN_Literal() => Assert.True(double.IsNaN(Empty.One("NaN", 0)));

    [Fact]
    public void StringLiteral_IsAStringResult()
    {
        var r = Empty.Engine().Instant("\"a\\tb\"", 5000);
        Assert.Equal(ResultType.String, r.Type);
        Assert.Equal("a\tb", r.Text);
        Assert.Equal("x\\y", Empty.Engine().Instant("`x\\y`", 0).Text);
        Assert.Equal("it's", Empty.Engine().Instant("'it\\'s'", 0).Text);
    }

    [Theory]
    [InlineData("sum(x", 5, "unexpected end of input")]
    [InlineData("rate(x)", 5, "expected type range vector in call to function \"rate\", got instant vector")]
    [InlineData("1 > 2", 2, "comparisons between scalars must use BOOL modifier")]
    [InlineData("{}", 0, "vector selector must contain at least one non-empty matcher")]
    [InlineData("x{a=\"\"}", 0, "")] // a name alone is non-empty
    [InlineData("{a=~\".*\"}", 0, "vector selector must contain at least one non-empty matcher")]
    [InlineData("foo(x)", 0, "unknown function with name \"foo\"")]
    [InlineData("x[5m] + 1", 0, "binary expression must contain only scalar and instant vector types")]
    [InlineData("1 + x[5m]", 4, "binary expression must contain only scalar and instant vector types")]
    [InlineData("x and 1", 0, "set operator \"and\" not allowed in binary scalar expression")]
    [InlineData("1 + bool 2", 2, "bool modifier can only be used on comparison operators")]
    [InlineData("x{a=\"b\"} offset", 15, "unexpected end of input")]
    [InlineData("(x) offset 5m", 4, "offset modifier must be preceded by an instant vector selector")]
    [InlineData("x offset 5m[1m]", 0, "no offset modifiers allowed before range")]
    [InlineData("sum(x)[5m]", 0, "ranges only allowed for vector selectors")]
    [InlineData("rate(x[5m])[1h]", 0, "ranges only allowed for vector selectors")]
    [InlineData("x{name=~\"(\"}", 8, "invalid regular expression")]
    [InlineData("topk(x)", 4, "wrong number of arguments for aggregate expression provided, expected 2, got 1")]
    [InlineData("topk(\"a\", x)", 5, "expected type scalar in aggregation parameter, got string")]
    [InlineData("sum(x[5m])", 4, "expected type instant vector in aggregation expression, got range vector")]
    [InlineData("x + on(a) group_left(a) y", 2, "label \"a\" must not occur in ON and GROUP clause at once")]
    [InlineData("x and on(a) group_left y", 0, "no grouping allowed for \"and\" operation")]
    [InlineData("1 + on(a) x", 0, "vector matching only allowed between instant vectors")]
    [InlineData("x{a=\"b\" c=\"d\"}", 8, "unexpected identifier \"c\"")]
    [InlineData("x $", 2, "unexpected character")]
    [InlineData("round(x, 1, 2)", 0, "expected at most 2 argument(s) in call to \"round\", got 3")]
    [InlineData("time(1)", 0, "expected 0 argument(s) in call to \"time\", got 1")]
    [InlineData("-x[5m]", 0, "unary expression only allowed on expressions of type scalar or instant vector")]
    [InlineData("1[5m:1m]", 0, "subquery is only allowed on instant vector, got scalar")]
    [InlineData("x{__name__=\"y\"}", 0, "metric name must not be set twice")]
    [InlineData("5m", 0, "unexpected duration")]
    [InlineData("", 0, "no expression found in input")]
    [InlineData("x[5x]", 2, "bad number or duration syntax")]
    [InlineData("\"abc", 0, "unterminated quoted string")]
    public void Errors_CarryPrometheusMessagesAndPositions(string query, int position, string message)
    {
        if (message.Length == 0)
        {
            Empty.Engine().Instant(query, 0);
            return;
        }

        var ex = Assert.Throws<QueryException>(() => Empty.Engine().Instant(query, 0));
        Assert.Equal(position, ex.Position);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.Equal("bad_data", ex.ErrorType);
        Assert.StartsWith($"1:{position + 1}: parse error: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ErrorPosition_CountsLinesAndColumns()
    {
        var ex = Assert.Throws<QueryException>(() => Empty.Engine().Instant("sum(\n  rate(x)\n)", 0));
        Assert.Equal(12, ex.Position);
        Assert.StartsWith("2:8: parse error:", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sum by (job) (x)")]
    [InlineData("sum(x) by (job)")]
    [InlineData("SUM(x) BY (job)")] // keywords are case-insensitive
    [InlineData("sum without (on, by, bool) (x)")] // keywords are valid label names
    [InlineData("x{on=\"a\", by=\"b\",}")] // trailing comma
    [InlineData("x:recorded:rate5m")]
    [InlineData("x offset -5m")]
    [InlineData("x[1h30m]")]
    [InlineData("rate(x[5m])[30m:1m] offset 1m")]
    [InlineData("x + ignoring(a) group_right(b, c) y")]
    [InlineData("x > bool on() group_left y")]
    [InlineData("count_values(\"v\", x)")]
    [InlineData("label_join(x, \"d\", \",\", \"a\", \"b\", \"c\")")]
    [InlineData("{__name__=~\"x|y\"}")]
    public void ValidQueries_Parse(string query) => Empty.Engine().Instant(query, 0);

    [Fact]
    public void RangeQuery_RefusesRangeVectors()
    {
        var ex = Assert.Throws<QueryException>(() => Empty.Engine().Range("x[5m]", 0, 60_000, 15_000));
        Assert.Contains("invalid expression type \"range vector\" for range query", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EmbeddedEngine_SeriesRefusesNonSelectors() =>
        await Assert.ThrowsAsync<QueryException>(() => new EmbeddedQueryEngine(new MemorySeriesSource().Add(Labels.Metric("x"), (0, 1))).SeriesAsync(["sum(x)"], DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddHours(1)));
}

public sealed class MetricNamesTests
{
    [Theory]
    [InlineData("max_over_time(aida_rack_inlet_celsius[1m])", new[] { "aida_rack_inlet_celsius" })]
    [InlineData("sum(rate(b_total[5m])) / sum(rate(a_total[5m])) - on() group_left b_total", new[] { "b_total", "a_total" })]
    [InlineData("topk(1, -(x offset 5m)) + max_over_time((y > bool 2)[10m:1m]) or {job=\"n\"}", new[] { "x", "y" })]
    [InlineData("1 + 2", new string[0])]
    public void MetricNames_AreTheSelectorsNames_InFirstOrder_WithoutRepeats(string query, string[] expected) =>
        Assert.Equal(expected, PromQLEngine.MetricNames(query));

    [Fact]
    public void MetricNames_OfAQueryThatDoesNotParse_IsAQueryError() =>
        Assert.Throws<QueryException>(() => PromQLEngine.MetricNames("sum(rate(x[5m])"));
}
