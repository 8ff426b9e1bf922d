using Aida.Observability.Detection;
using Aida.Telemetry.Series;

namespace Aida.Observability.Tests.Detection;

public sealed class PowerSwingsTests
{
    private static readonly AlertingOptions Options = new();

    private static List<Sample> Power(int count, Func<int, double> megawatts) =>
        [.. Enumerable.Range(0, count).Select(i => new Sample(i * 10_000L, megawatts(i) * 1e6))];

    [Fact]
    public void SwingEveryMinute_IsFoundAtItsThirdStep()
    {
        // 3 MW steady, then from sample 30 (5 min) 4.8 MW and 1.2 MW in turn every 30 s.
        var p = Power(120, i => i < 30 ? 3.1 : ((i - 30) / 3 % 2 == 0 ? 4.8 : 1.2));

        // It swings for 15 min: one alert per 5 min window, the first at the third step.
        var (at, first) = PowerSwings.Find(p, Options)[0];

        Assert.Equal(30 * 10_000L, first);
        Assert.Equal(36 * 10_000L, at);
    }

    [Fact]
    public void CheckpointDipAndAnotherDip_AtUnevenIntervals_IsNoSwing()
    {
        // Down at 10, up at 19 (a 90 s checkpoint), down again at 22 and up at 60: steps 90 s, 30 s, then 380 s apart.
        var p = Power(80, i => i is >= 10 and < 19 or >= 22 and < 60 ? 1.6 : 4.5);

        Assert.Empty(PowerSwings.Find(p, Options));
    }

    [Fact]
    public void FourAlternatingSteps_WithinFiveMinutes_AreASwingEvenUneven()
    {
        var p = Power(80, i => i is >= 10 and < 19 or >= 22 and < 30 ? 1.6 : 4.5);

        Assert.Single(PowerSwings.Find(p, Options));
    }

    [Fact]
    public void NaNSamples_AreNoStep()
    {
        var p = Power(120, i => i < 30 ? 3.1 : ((i - 30) / 3 % 2 == 0 ? 4.8 : 1.2)).Select((s, i) => i % 2 == 1 ? s with { Value = double.NaN } : s).ToList();

        Assert.Empty(PowerSwings.Find(p, Options));
        Assert.Empty(PowerSwings.Find([], Options));
    }
}
