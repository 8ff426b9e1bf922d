using Aida.Reliability.Budgets;

namespace Aida.Reliability.Tests.Budgets;

/// <summary>The readings people left out of the SLIs in a live run, kept in the run's data directory.</summary>
public sealed class FiledExclusionsTests
{
    private static readonly DateTimeOffset At = new(2025, 7, 1, 2, 0, 0, TimeSpan.Zero);

    [Fact]
    public void FiledAndEnded_AreReadBackAsTheyWere_WhenTheRunStartsAgain()
    {
        var path = Path.Combine(Path.GetTempPath(), $"aida-exclusions-{Guid.NewGuid():N}.json");
        var first = new FiledExclusions(path);
        first.File("aida_rack_inlet_celsius{rack=\"h2-b04\"}", At, null, "probe hanging loose", "api:ops");
        first.File("aida_cdu_supply_celsius{asset=\"cdu-h1-a\"}", At, null, "drifting", "api:ops");
        first.End(1, At.AddHours(3));

        var again = new FiledExclusions(path);
        File.Delete(path);

        Assert.Equal(first.All, again.All);
        Assert.Equal(At.AddHours(3), again.All[0].Exclusion.Until);
        Assert.Null(again.All[1].Exclusion.Until);
        Assert.Equal("drifting (filed by api:ops, exclusion 2)", again.All[1].Exclusion.Reason);
        Assert.Equal(3, again.File("aida_rack_inlet_celsius{rack=\"h1-a01\"}", At, null, "x", "api:ops").Id);
    }

    [Theory]
    [InlineData("not json", "not a list of reading exclusions")]
    [InlineData("""[{"id": 1, "series": "aida_rack_inlet_celsius{rack=~\"h.*\"}", "from": "2025-07-01T02:00:00Z", "reason": "x", "by": "api:ops"}]""", "entry 1: 'aida_rack_inlet_celsius{rack=~\"h.*\"}': name the metric")]
    [InlineData("""[{"id": 2, "series": "aida_rack_inlet_celsius{rack=\"h2-b04\"}", "from": "2025-07-01T02:00:00Z", "reason": "x", "by": "api:ops"}]""", "entry 1: id 2 (expected 1)")]
    public void ABrokenFile_IsRefused_NamingItAndTheEntry(string text, string named)
    {
        var path = Path.Combine(Path.GetTempPath(), $"aida-exclusions-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, text);

        var e = Assert.Throws<FormatException>(() => new FiledExclusions(path));
        File.Delete(path);

        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }
}
