using Aida.Model.Config;

namespace Aida.Model.Tests.Config;

public class PromDurationTests
{
    [Theory]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("1h30m", 5400)]
    [InlineData("7d", 604_800)]
    [InlineData("250ms", 0.25)]
    [InlineData("1w", 604_800)]
    public void Parse_PrometheusDurations(string text, double seconds) =>
        Assert.Equal(seconds, PromDuration.Parse(text).TotalSeconds);

    [Theory]
    [InlineData("-5m", "negative")] // a negative duration is named as such
    [InlineData("5 minutes", "not a duration")]
    [InlineData("m5", "not a duration")]
    [InlineData("", "empty")]
    public void TryParse_Rejects_WithReason(string text, string reason)
    {
        Assert.False(PromDuration.TryParse(text, out _, out var problem));
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(90, "1m30s")]
    [InlineData(86_400 + 7200, "1d2h")]
    [InlineData(0, "0s")]
    public void Format_IsShortestForm(double seconds, string text) =>
        Assert.Equal(text, PromDuration.Format(TimeSpan.FromSeconds(seconds)));
}
