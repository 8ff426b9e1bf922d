using Aida.Observability.Detection;
using Aida.Telemetry.Series;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Observability.Tests.Detection;

public sealed class SteadyLoadTests
{
    private const long Minute = 60_000;

    private static List<Sample> Ratio(int count) => [.. Enumerable.Range(0, count).Select(i => new Sample(i * Minute, 1))];

    private static Dictionary<long, double> Load(int count, Func<int, double> watts) =>
        Enumerable.Range(0, count).ToDictionary(i => i * Minute, watts);

    [Fact]
    public void AfterALoadStep_TheNextTenMinutesAreDropped()
    {
        // 600 kW, then 480 kW from minute 30 (a checkpoint's dip): minutes 30-39 are not yet steady, 40 on are.
        var kept = SteadyLoad.Keep(Ratio(60), Load(60, i => i < 30 ? 600e3 : 480e3), 10 * Minute, Minute, 0.02);

        Assert.Equal([.. Enumerable.Range(10, 20), .. Enumerable.Range(40, 20)], kept.Select(s => (int)(s.TimestampMs / Minute)));
    }

    [Fact]
    public void LoadWithinTheShare_IsSteady_AndAMissingLoadIsNot()
    {
        // +-0.5 % of scatter is steady; minute 45 has no load reading, so it and the ten minutes after it are not judged.
        var load = Load(60, i => 600e3 * (1 + (0.005 * Math.Sin(i))));
        load.Remove(45 * Minute);

        var kept = SteadyLoad.Keep(Ratio(60), load, 10 * Minute, Minute, 0.02).Select(s => (int)(s.TimestampMs / Minute)).ToList();

        Assert.Equal([.. Enumerable.Range(10, 35), .. Enumerable.Range(56, 4)], kept);
    }

    [Property(MaxTest = 200, Replay = "1234567890123456789,987654321987654321")]
    public Property KeptSamples_AreASubsequence_WhoseLoadHeldOverTheSpan(NonNegativeInt seed) =>
        Prop.ToProperty(KeepIsSound(seed.Get));

    private static bool KeepIsSound(int seed)
    {
        var random = new Random(seed);
        var load = Load(120, _ => random.Next(3) == 0 ? 500e3 + random.Next(100_000) : 550e3);
        var samples = Ratio(120);
        var kept = SteadyLoad.Keep(samples, load, 10 * Minute, Minute, 0.05);
        return kept.All(samples.Contains)
            && kept.Zip(kept.Skip(1)).All(p => p.First.TimestampMs < p.Second.TimestampMs)
            && kept.All(s => Enumerable.Range(0, 11).All(k =>
                load.TryGetValue(s.TimestampMs - (k * Minute), out var then) && Math.Abs(then - load[s.TimestampMs]) <= 0.05 * load[s.TimestampMs]));
    }
}
