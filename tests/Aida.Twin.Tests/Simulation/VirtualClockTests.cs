using Aida.Twin.Simulation;

namespace Aida.Twin.Tests.Simulation;

public class VirtualClockTests
{
    [Fact]
    public void Advance_MovesNowAndTimestamps()
    {
        var start = new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new VirtualClock(start);
        var t0 = clock.GetTimestamp();
        clock.Advance(TimeSpan.FromMinutes(90));
        Assert.Equal(start.AddMinutes(90), clock.GetUtcNow());
        Assert.Equal(TimeSpan.FromMinutes(90), clock.GetElapsedTime(t0));
    }

    [Fact]
    public void Advance_Backwards_IsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new VirtualClock(DateTimeOffset.UnixEpoch).Advance(TimeSpan.FromSeconds(-1)));

    [Fact]
    public void Simulator_ClockFollowsTheSteps()
    {
        var sim = new Simulator(TestPlants.Tiny(duration: "1h"), new SimulationOptions { NoOperator = true });
        sim.Advance(600);
        Assert.Equal(sim.Scenario.Start.AddMinutes(10), sim.Clock.GetUtcNow());
    }

    [Fact]
    public void AgentMode_IsNotAvailableYet() =>
        Assert.Throws<NotSupportedException>(() => new Simulator(TestPlants.Tiny(), new SimulationOptions { Mode = OperatingMode.Agent }));
}
