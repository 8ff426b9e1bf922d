using Aida.Telemetry.Series;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Telemetry.Tests.Series;

public class LabelsTests
{
    [Fact]
    public void Labels_AreSortedAndComparedByContent()
    {
        var a = Labels.Metric("up", ("job", "x"), ("instance", "i"));
        var b = Labels.From(("instance", "i"), ("__name__", "up"), ("job", "x"));
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal("up{instance=\"i\", job=\"x\"}", a.ToString());
    }

    [Fact]
    public void EmptyValues_AreDropped() => Assert.Null(Labels.Metric("up", ("job", "")).Get("job"));

    [Theory]
    [InlineData("1up", "invalid metric name '1up'")]
    [InlineData("up-time", "invalid metric name 'up-time'")]
    public void Validate_BadMetricNames(string name, string problem) =>
        Assert.Equal(problem, LabelRules.Validate(Labels.Metric(name)));

    [Fact]
    public void Validate_BadAndReservedLabelNames()
    {
        Assert.Contains("invalid label name 'host-name'", LabelRules.Validate(Labels.Metric("up", ("host-name", "a"))), StringComparison.Ordinal);
        Assert.Contains("label name '__secret' is reserved", LabelRules.Validate(Labels.Metric("up", ("__secret", "a"))), StringComparison.Ordinal);
        Assert.Contains("has no metric name", LabelRules.Validate(Labels.From(("job", "a"))), StringComparison.Ordinal);
        Assert.Null(LabelRules.Validate(Labels.Metric("DCGM_FI_DEV_GPU_TEMP", ("gpu", "0"))));
    }

    [Fact]
    public void StaleMarker_IsASpecificNaN()
    {
        Assert.True(double.IsNaN(StaleMarker.Value));
        Assert.True(StaleMarker.Is(StaleMarker.Value));
        Assert.False(StaleMarker.Is(double.NaN));
    }

    [Theory]
    [InlineData(MatcherType.Equal, "a", "a", true)]
    [InlineData(MatcherType.NotEqual, "a", "a", false)]
    [InlineData(MatcherType.Regex, "h1-.*", "h1-a01", true)]
    [InlineData(MatcherType.Regex, "h1", "h1-a01", false)] // anchored
    [InlineData(MatcherType.NotRegex, "h2.*", "h1-a01", true)]
    public void Matchers(MatcherType type, string pattern, string value, bool matches) =>
        Assert.Equal(matches, new LabelMatcher("rack", type, pattern).Matches(value));

    [Property(MaxTest = 300, Replay = "1234567890123456789,987654321987654321")]
    public Property From_SortsByName_LastDuplicateWins_EmptyDropped() =>
        Prop.ForAll(
            Gen.ListOf(from n in Gen.Elements("a", "b", "c", "job", "rack", "__name__") from v in Gen.Elements("", "x", "y", "z") select (n, v)).ToArbitrary(),
            pairs =>
            {
                var expected = new SortedDictionary<string, string>(StringComparer.Ordinal);
                foreach (var (n, v) in pairs)
                {
                    expected[n] = v;
                }

                var labels = Labels.From(pairs.ToArray());
                var kept = expected.Where(kv => kv.Value.Length > 0).ToList();
                return labels.Count == kept.Count && kept.Select((kv, i) => labels.Name(i) == kv.Key && labels.Value(i) == kv.Value).All(x => x);
            });

    [Property(MaxTest = 300, Replay = "1234567890123456789,987654321987654321")]
    public Property Parse_ReadsBackWhatToStringWrote_QuotesBackslashesAndNewlinesIncluded() =>
        Prop.ForAll(
            Gen.ListOf(from n in Gen.Elements("a", "rack", "asset", "site") from v in Gen.Elements("x", "h2-b04", "a\"b", "c\\d", "e\nf", "ä ü") select (n, v)).ToArbitrary(),
            pairs =>
            {
                var labels = Labels.From([("__name__", "aida_rack_inlet_celsius"), .. pairs]);
                return Labels.Parse(labels.ToString()).Equals(labels);
            });

    [Theory]
    [InlineData("aida_rack_inlet_celsius{rack=~\"h2.*\"}", "matches otherwise than by =")]
    [InlineData("aida_rack_inlet_celsius{rack=", "is not a series")]
    [InlineData("sum(x)", "is not a series")]
    public void Parse_RefusesWhatIsNoSeries_SayingWhy(string text, string why)
    {
        var e = Assert.Throws<FormatException>(() => Labels.Parse(text));
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
        Assert.Contains(text, e.Message, StringComparison.Ordinal);
    }
}
