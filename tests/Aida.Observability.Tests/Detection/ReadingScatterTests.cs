using Aida.Observability.Detection;
using Aida.Telemetry.Series;

namespace Aida.Observability.Tests.Detection;

public sealed class ReadingScatterTests
{
    private static readonly AlertingOptions Options = new();

    /// <summary>A standard normal draw from <paramref name="random"/> (Box-Muller).</summary>
    private static double Gauss(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>Gaussian readings from a seeded source (Box-Muller), quantised to 0.1 as an inlet sensor reads: sigma
    /// 0.2 throughout, plus <paramref name="noisy"/> from sample <paramref name="from"/>.</summary>
    private static List<Sample> Readings(int count, int from, double noisy, int seed = 7)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(i => new Sample(i * 10_000L, Math.Round(24 + (0.2 * Gauss(random)) + (i >= from ? noisy * Gauss(random) : 0), 1)))];
    }

    [Theory]
    [InlineData(7)]
    [InlineData(11)]
    [InlineData(13)]
    public void ThreeKelvinOfNoise_IsFoundWithinAMinute(int seed)
    {
        var found = ReadingScatter.Find(Readings(600, 400, 3, seed), 399 * 10_000L, Options);

        var (at, why) = Assert.Single(found);
        Assert.InRange(at - (400 * 10_000L), 0, 60_000);
        Assert.Contains("from the midpoint of their neighbours", why, StringComparison.Ordinal);
    }

    [Fact]
    public void ADayOfOrdinaryReadings_IsQuiet()
    {
        Assert.Empty(ReadingScatter.Find(Readings(8640, int.MaxValue, 0), 720 * 10_000L, Options));
    }

    [Fact]
    public void PlantSteps_AreNotScatter()
    {
        // The plant steps by 3 K twice, 2 min apart (two readings apart from the midpoint at each step, never three).
        var readings = Readings(600, int.MaxValue, 0).Select((s, i) => s with { Value = s.Value + (i >= 400 ? 3 : 0) + (i >= 412 ? 3 : 0) }).ToList();

        Assert.Empty(ReadingScatter.Find(readings, 399 * 10_000L, Options));
        // Nor as the live pipeline judges them, each step among the series' last readings (regression: the newest
        // reading's distance was taken as its predecessor's, three wild distances at a step where there are two).
        for (var last = 398; last <= 416; last++)
        {
            Assert.Empty(ReadingScatter.Find(readings[..last], 399 * 10_000L, Options));
        }
    }

    [Fact]
    public void NaNsAreDropped_AndAShortSeriesIsNotJudged()
    {
        var withNaN = Readings(600, 400, 3).Select((s, i) => i % 9 == 0 ? s with { Value = double.NaN } : s).ToList();

        Assert.Single(ReadingScatter.Find(withNaN, 399 * 10_000L, Options));
        Assert.Empty(ReadingScatter.Find(Readings(83, 10, 3), 0, Options));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadingsAcrossAGap_AreNotNeighbours_SoAPlantBackAtAnotherLevelIsNotScatter(bool staleMarker)
    {
        // Regression (seen live, session 56): a network site's devices all down for 5 min, back from a restarted plant
        // 2 K away. The readings either side of the gap were taken as neighbours: a false sensor-noise incident on the
        // first reading after it (here 5 K, for this series' coarser usual scatter). The gap is the time alone, or a stale marker as the collector writes at the outage.
        var before = MovingInlet(900, 5);
        var after = MovingInlet(120, 6).Select(r => new Sample(r.TimestampMs + 900_000L + 285_000L, r.Value + 5)).ToList();
        List<Sample> readings = [.. before, .. staleMarker ? [new Sample(900_000L, StaleMarker.Value)] : Array.Empty<Sample>(), .. after];

        Assert.Empty(ReadingScatter.Find(readings, 899_000L, Options));
        // As the live pipeline judges it, the first readings after the gap are the series' last.
        for (var last = 1; last <= 5; last++)
        {
            Assert.Empty(ReadingScatter.Find(readings[..(readings.Count - after.Count + last)], 899_000L, Options));
        }

        // Noise after the gap is still found, against the readings before it.
        var noisy = MovingInlet(240, 6, i => i >= 60 ? 2 : 0.2).Select(r => new Sample(r.TimestampMs + 900_000L + 285_000L, r.Value + 5)).ToList();
        var (at, _) = Assert.Single(ReadingScatter.Find([.. before, .. noisy], 899_000L, Options));
        Assert.InRange(at - (900_000L + 285_000L + 60_000L), 0, 60_000);
    }

    /// <summary>An inlet as the twin's read over the wire: the plant's own movement (an AR(1) of 0.2 K, 0.9 from one
    /// reading to the next) under <paramref name="sensor"/> K of sensor noise (0.2 unless given for the reading),
    /// quantised to 0.1, a reading a second.</summary>
    private static List<Sample> MovingInlet(int count, int seed, Func<int, double>? sensor = null)
    {
        var random = new Random(seed);
        var plant = 0.0;
        var readings = new List<Sample>(count);
        for (var i = 0; i < count; i++)
        {
            plant = (0.9 * plant) + (0.2 * Math.Sqrt(1 - 0.81) * Gauss(random));
            readings.Add(new Sample(i * 1_000L, Math.Round(24 + plant + ((sensor?.Invoke(i) ?? 0.2) * Gauss(random)), 1)));
        }

        return readings;
    }

    [Fact]
    public void AFreshSeriesWhoseFirstReadingsHappenedToBeQuiet_DoesNotTakeThemForItsUsualLevel()
    {
        // Regression (aida twin serve --speed 10, polled each second): the usual level was taken over a fresh series'
        // first 24 readings, by their luck one quantum low, and a minute of the plant moving a little more read as 5
        // times it: a false sensor-noise incident on h2-c06's inlet 40 s in. Seed 13's first 24 readings sit a median
        // 0.10 from the midpoint of their neighbours, its first 72 0.15 (as all 400 would); 12 readings from the 150th scatter
        // 0.5 K instead of 0.2 (about 3 times the usual).
        var readings = MovingInlet(400, 13, i => i is >= 150 and < 162 ? 0.5 : 0.2);

        Assert.Empty(ReadingScatter.Find(readings, -1, Options));
    }

    [Fact]
    public void FreshSeriesOfAMovingPlant_AreQuiet()
    {
        var alerted = Enumerable.Range(0, 300).Select(seed => (Seed: seed, Alerts: ReadingScatter.Find(MovingInlet(720, seed), -1, Options).Count)).ToList();

        Assert.All(alerted, a => Assert.Equal(0, a.Alerts));
    }

    [Fact]
    public void NoiseOnAFreshSeriesOfAMovingPlant_IsFoundAfterItsFirst72Readings()
    {
        var readings = MovingInlet(400, 5).Select((s, i) => i >= 100 ? s with { Value = s.Value + Math.Round(Math.Sin(i * 2.1) * 3, 1) } : s).ToList();

        var (at, _) = Assert.Single(ReadingScatter.Find(readings, -1, Options));
        Assert.InRange(at, 100 * 1_000L, 106 * 1_000L);
    }

    [Fact]
    public void SeriesStartingAfterTheReferenceTime_TakesItsFirstReadingsAsReference()
    {
        // Nothing before the reference time: the first 72 readings set the usual level.
        var found = ReadingScatter.Find(Readings(200, 100, 3), -1, Options);

        Assert.InRange(Assert.Single(found).AtMs, 100 * 10_000L, 106 * 10_000L);
    }

    /// <summary><paramref name="count"/> readings of a loop that moves by about 0.05 K (0.01 K quantum), frozen at 24.24
    /// from reading <paramref name="frozenFrom"/> to <paramref name="frozenUntil"/>, and with <paramref name="noisy"/> K
    /// of sensor noise from <paramref name="noisyFrom"/>.</summary>
    private static List<Sample> FrozenThenLive(int count, int frozenFrom, int frozenUntil, int noisyFrom = int.MaxValue, double noisy = 0)
    {
        var random = new Random(3);
        return [.. Enumerable.Range(0, count).Select(i => new Sample(i * 10_000L,
            i >= frozenFrom && i < frozenUntil ? 24.24 : Math.Round(23.8 + (0.05 * Gauss(random)) + (i >= noisyFrom ? noisy * Gauss(random) : 0), 2)))];
    }

    [Fact]
    public void ALoopMovingAsUsual_AfterItsSensorWasFrozen_IsNotScatter()
    {
        // Regression (sensor-stuck on cdu-h2-a's supply): frozen for the 2 h before the reference time, then live again,
        // the loop's ordinary 0.05 K movement read as 6-20 times a usual level of one quantum.
        var readings = FrozenThenLive(1440, 0, 700);

        Assert.Empty(ReadingScatter.Find(readings, 719 * 10_000L, Options));
    }

    [Fact]
    public void NoiseAfterAFrozenSpell_IsStillFound_AgainstTheLiveReadingsBeforeIt()
    {
        // Live 1 h, frozen 1 h, live 10 min, then 0.5 K of noise: the first hour sets the usual level.
        var readings = FrozenThenLive(1000, 360, 720, 780, 0.5);

        var (at, _) = Assert.Single(ReadingScatter.Find(readings, 779 * 10_000L, Options));
        Assert.InRange(at - (780 * 10_000L), 0, 120_000);
    }

    [Fact]
    public void AllFrozenBeforeTheReferenceTime_TheFirstLiveReadingsSetTheUsualLevel()
    {
        // Frozen for the whole reference, then live: the first 24 live readings set the level, and noise after them is found.
        var readings = FrozenThenLive(1000, 0, 720, 800, 0.5);

        var (at, _) = Assert.Single(ReadingScatter.Find(readings, 719 * 10_000L, Options));
        Assert.InRange(at - (800 * 10_000L), 0, 120_000);
    }
}
