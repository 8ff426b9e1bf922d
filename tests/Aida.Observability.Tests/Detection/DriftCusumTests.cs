using Aida.Observability.Detection;
using Aida.Telemetry.Series;

namespace Aida.Observability.Tests.Detection;

public sealed class DriftCusumTests
{
    // Repeatable scatter of +-0.2 % around 1.
    private static double Wobble(int i) => 0.002 * Math.Sin(i * 1.7);

    private static List<Sample> Ratio(int count, Func<int, double> value) =>
        [.. Enumerable.Range(0, count).Select(i => new Sample(i * 60_000L, value(i)))];

    private static List<(long AtMs, double Relative)> Find(IReadOnlyList<Sample> s) => DriftCusum.Find(s, 30, 0.005, 2, 15);

    [Fact]
    public void RampOfOnePercentPerHalfHour_IsFoundWithinTheHour()
    {
        // Flat for 60 min, then rising 1 % every 30 min (cold plates fouling at 60 % a day).
        var s = Ratio(180, i => 1 + Wobble(i) + (Math.Max(0, i - 60) * 0.01 / 30));

        var (at, relative) = Assert.Single(Find(s));

        Assert.InRange(at / 60_000, 60, 120);
        Assert.InRange(relative, 1.012, 1.04);
    }

    [Fact]
    public void WanderingWithinTheScale_IsQuiet()
    {
        var s = Ratio(720, i => 1 + (0.006 * Math.Sin(i / 40.0)) + Wobble(i));

        Assert.Empty(Find(s));
    }

    [Fact]
    public void FiresOncePerExcursion_AndRearmsOnceBackWithinTheSlack()
    {
        // 5 % up adds 4 % a sample over the 1 % slack (2 x the 0.5 % scale): past 15 scales (7.5 %) at the second.
        var s = Ratio(300, i => i is >= 60 and < 120 or >= 200 ? 1.05 : 1);

        Assert.Equal([60L + 1, 200L + 1], Find(s).Select(f => f.AtMs / 60_000));
    }

    [Fact]
    public void NaNsAndGaps_AreSkipped_AndTooFewSamplesAreNotJudged()
    {
        var s = Ratio(180, i => i % 5 == 2 ? double.NaN : 1 + (Math.Max(0, i - 60) * 0.01 / 30)).Where((_, i) => i % 7 != 3).ToList();

        Assert.Single(Find(s));
        Assert.Empty(Find(Ratio(29, _ => 2)));
        Assert.Empty(Find([]));
        Assert.Empty(Find(Ratio(100, i => i < 30 ? 0 : 1)));
    }

    [Fact]
    public void SeriesStartingMidDrift_IsJudgedAgainstItsOwnStart()
    {
        // Already 1 % up when it starts: the first 30 min are its reference, the drift after them is still found.
        var s = Ratio(180, i => 1.01 + (i * 0.01 / 30));

        Assert.Single(Find(s));
    }
}
