using Aida.Observability.Detection;
using Aida.Telemetry.Series;

namespace Aida.Observability.Tests.Detection;

public sealed class ValveResponseTests
{
    private const long Step = 10_000;

    // 0.1 K of repeatable sensor-like scatter, quantised to 0.1 K as a CDU RTD reads.
    private static double Scatter(int i) => (((i * 7919) % 5) - 2) * 0.05;

    private static List<Sample> Series(int count, Func<int, double> value) =>
        [.. Enumerable.Range(0, count).Select(i => new Sample(i * Step, value(i)))];

    private static List<Sample> Celsius(int count, Func<int, double> value) => Series(count, i => Math.Round(value(i), 1));

    /// <summary>Supply at 30 °C for 20 min; from sample 120 it heads for <paramref name="target"/> with a 60 s time constant.</summary>
    private static List<Sample> Supply(double target, int count = 150) =>
        Celsius(count, i => (i < 120 ? 30 : 30 + ((target - 30) * (1 - Math.Exp(-(i - 120) * 10.0 / 60)))) + Scatter(i));

    private static List<Sample> Constant(double value, int count = 150) => Series(count, _ => value);

    private static List<Sample> Valve(double before, double after, int count = 150) => Series(count, i => i < 120 ? before : after);

    [Fact]
    public void SupplyLeavingItsSetpoint_WhileTheValveHolds_FiresWithinHalfAMinute()
    {
        var found = ValveResponse.Find(Supply(34), Constant(30), Valve(0.54, 0.25));

        var (at, error, valve) = Assert.Single(found);
        Assert.InRange(at - (120 * Step), 0, 30_000);
        Assert.InRange(error, 0.5, 4);
        Assert.Equal(0.25, valve, 3);
    }

    [Fact]
    public void ValveThatMoves_IsFollowingItsController()
    {
        var moving = Series(150, i => i < 120 ? 0.54 : 0.54 + (0.02 * (i - 120)));

        Assert.Empty(ValveResponse.Find(Supply(34), Constant(30), moving));
    }

    [Fact]
    public void ValveFullyOpen_CannotDoMore()
    {
        Assert.Empty(ValveResponse.Find(Supply(34), Constant(30), Valve(0.9, 1.0)));
    }

    [Fact]
    public void SupplySensorDriftingTwoKelvinAnHour_IsNotAbrupt()
    {
        var drifting = Celsius(1000, i => 30 + (Math.Max(0, i - 120) * 10.0 * 2 / 3600) + Scatter(i));

        Assert.Empty(ValveResponse.Find(drifting, Constant(30, 1000), Constant(0.5, 1000)));
    }

    [Fact]
    public void SetpointLoweredAndReached_IsNoDeparture_WhenTheFiveMinutesOfTheHigherOneEnd()
    {
        // Regression (a live agent run): the optimiser lowers a CDU setpoint by 1 K; the supply follows it within two
        // minutes, the valve back where it was. Five minutes on, the setpoint judged against drops from the old one to
        // the new: the supply, 1 K below the old, is on the new one. That is no departure (it fired as one).
        var setpoint = Series(200, i => i < 100 ? 30 : 29);
        var supply = Celsius(200, i => (i < 100 ? 30 : 29 + Math.Exp(-(i - 100) * 10.0 / 30)) + Scatter(i));

        Assert.Empty(ValveResponse.Find(supply, setpoint, Constant(0.68, 200)));
    }

    [Fact]
    public void SetpointLoweredByTheOperator_IsJudgedAgainstTheHigherOneForFiveMinutes()
    {
        // Setpoint 33 -> 30 at sample 120; the supply follows it down with the loop's lag and the valve steps open then holds.
        var setpoint = Series(150, i => i < 120 ? 33 : 30);
        var supply = Celsius(150, i => 30 + (3 * (i < 120 ? 1 : Math.Exp(-(i - 120) * 10.0 / 60))));

        Assert.Empty(ValveResponse.Find(supply, setpoint, Valve(0.4, 0.7)));
    }

    [Fact]
    public void NaNsAndGaps_AreSkipped_AndASeriesStartingMidWindowNeedsItsReferenceFirst()
    {
        var supply = Supply(34).Select((s, i) => i % 7 == 3 ? s with { Value = double.NaN } : s).Where((_, i) => i % 11 != 5).ToList();

        Assert.Single(ValveResponse.Find(supply, Constant(30), Valve(0.54, 0.25)));

        // Already settled off its setpoint when the series starts: no reference before the departure, nothing to judge against.
        Assert.Empty(ValveResponse.Find(Supply(34, 300).Skip(200).ToList(), Constant(30, 300), Valve(0.54, 0.25, 300)));
    }

    [Fact]
    public void NoSetpointOrValveReadings_FiresNothing()
    {
        Assert.Empty(ValveResponse.Find(Supply(34), [], Valve(0.54, 0.25)));
        Assert.Empty(ValveResponse.Find(Supply(34), Constant(30), []));
        Assert.Empty(ValveResponse.Find([], Constant(30), Valve(0.54, 0.25)));
    }

    [Fact]
    public void OneDeparture_FiresOnce_UntilTheSupplyComesBack()
    {
        // Departs at 120, back at setpoint from 200, departs again from 300.
        var supply = Celsius(400, i => (i is >= 120 and < 200 or >= 300 ? 33 : 30) + Scatter(i));
        var valve = Series(400, i => i is >= 120 and < 200 or >= 300 ? 0.25 : 0.5);

        var found = ValveResponse.Find(supply, Constant(30, 400), valve);

        Assert.Equal(2, found.Count);
    }
}
