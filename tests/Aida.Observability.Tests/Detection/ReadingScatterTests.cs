using Aida.Observability.Detection;
using Aida.Telemetry.Series;

namespace Aida.Observability.Tests.Detection;

public sealed class ReadingScatterTests
{
    private static readonly AlertingOptions Options = new();

    /// <summary>Gaussian readings from a seeded source (Box-Muller), quantised to 0.1 as an inlet sensor reads: sigma
    /// 0.2 throughout, plus <paramref name="noisy"/> from sample <paramref name="from"/>.</summary>
    private static List<Sample> Readings(int count, int from, double noisy, int seed = 7)
    {
        var random = new Random(seed);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        return [.. Enumerable.Range(0, count).Select(i => new Sample(i * 10_000L, Math.Round(24 + (0.2 * Gauss()) + (i >= from ? noisy * Gauss() : 0), 1)))];
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
    }

    [Fact]
    public void NaNsAreDropped_AndAShortSeriesIsNotJudged()
    {
        var withNaN = Readings(600, 400, 3).Select((s, i) => i % 9 == 0 ? s with { Value = double.NaN } : s).ToList();

        Assert.Single(ReadingScatter.Find(withNaN, 399 * 10_000L, Options));
        Assert.Empty(ReadingScatter.Find(Readings(30, 10, 3), 0, Options));
    }

    [Fact]
    public void SeriesStartingAfterTheReferenceTime_TakesItsFirstReadingsAsReference()
    {
        // Nothing before the reference time: the first 24 readings set the usual level.
        var found = ReadingScatter.Find(Readings(200, 100, 3), -1, Options);

        Assert.InRange(Assert.Single(found).AtMs, 100 * 10_000L, 106 * 10_000L);
    }
}
