using Aida.Observability.Detection;
using Aida.Telemetry.Series;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

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
    public void ANoiseScale_WidensTheCheckWhereTheSeriesIsNoisier_AndStillFindsADrift()
    {
        // The scatter triples after the first hour (a temperature difference a third as wide): at one scale a 0.6 %
        // wobble with a 0.4 % offset fires; with each sample's scale given, it is quiet, and a 1 % per half hour drift
        // from there is still found, later than at the narrower scale.
        static double Scale(long ms) => ms < 60 * 60_000L ? 1 : 3;
        var noisy = Ratio(240, i => 1 + (i < 60 ? Wobble(i) : 0.004 + (3 * Wobble(i))));
        var drifting = Ratio(240, i => noisy[i].Value + (Math.Max(0, i - 60) * 0.01 / 30));

        Assert.NotEmpty(DriftCusum.Find(noisy, 30, 0.002, 1, 5));
        Assert.Empty(DriftCusum.Find(noisy, 30, 0.002, 1, 5, noiseScale: Scale));
        var (at, _) = DriftCusum.Find(drifting, 30, 0.002, 1, 5, noiseScale: Scale).First();
        Assert.InRange(at / 60_000, 61, 180);
        Assert.True(at > DriftCusum.Find(drifting, 30, 0.002, 1, 5).First().AtMs);
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

    [Fact]
    public void QuietSeries_JudgedAtItsOwnSpread_FindsTheRampWithinHalfAnHour()
    {
        // +-0.1 % of scatter (a training hall's cold-plate ratio at steady load), then 1 % up every 30 min from minute 60.
        // Against its own spread x 3 (0.3 %), slack 2, 5 scale-minutes it fires within 30 min; against a fixed 0.5 %
        // floor with 15 scale-minutes it took 50.
        var s = Ratio(180, i => 1 + (Wobble(i) / 2) + (Math.Max(0, i - 60) * 0.01 / 30));

        var (at, _) = DriftCusum.Find(s, 30, 0.002, 2, 5, spreadFactor: 3).First();
        var (old, _) = Find(s).First();

        Assert.InRange(at / 60_000, 60, 90);
        Assert.InRange(old / 60_000, 100, 130);
    }

    [Fact]
    public void NoisySeries_IsJudgedAtItsOwnWiderSpread()
    {
        // +-0.6 % of scatter wandering by +-0.8 % over hours (an inference hall): the same settings stay quiet.
        var s = Ratio(720, i => 1 + (0.008 * Math.Sin(i / 50.0)) + (3 * Wobble(i)));

        Assert.Empty(DriftCusum.Find(s, 30, 0.002, 2, 5, spreadFactor: 3));
    }

    [Property(MaxTest = 200, Replay = "1234567890123456789,987654321987654321")]
    public Property NeverFires_WhileEverySampleIsWithinTheSlack(PositiveInt seed, NormalFloat spread)
    {
        // Whatever the reference, a series that never rises past the level + slack x scale adds nothing to the sum.
        var random = new Random(seed.Get);
        var width = Math.Min(Math.Abs(spread.Get), 0.05);
        var s = Ratio(400, i => 1 + (width * ((2 * random.NextDouble()) - 1)));
        var reference = s.Take(30).Select(x => x.Value).Order().ToList();
        var level = reference[15];
        var capped = s.Select((x, i) => i < 30 ? x : new Sample(x.TimestampMs, Math.Min(x.Value, level * (1 + (2 * 0.002))))).ToList();
        return Prop.ToProperty(DriftCusum.Find(capped, 30, 0.002, 2, 5, spreadFactor: 3).Count == 0);
    }
}
