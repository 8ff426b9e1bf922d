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
    public void AgentMode_WithoutAnAgent_RefusesToStep_AndAnAgentNeedsAgentMode()
    {
        var agentless = new Simulator(TestPlants.Tiny(), new SimulationOptions { Mode = OperatingMode.Agent });
        Assert.Contains("agent mode needs an agent attached", Assert.Throws<InvalidOperationException>(() => agentless.AdvanceSteps(1)).Message, StringComparison.Ordinal);

        var human = new Simulator(TestPlants.Tiny(), new SimulationOptions { Mode = OperatingMode.Human });
        Assert.Contains("only in agent mode", Assert.Throws<InvalidOperationException>(() => human.AttachAgent(new CountingAgent())).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AttachedAgent_IsTickedEveryTenSecondsOfPlantTime()
    {
        var sim = new Simulator(TestPlants.Tiny(), new SimulationOptions { Mode = OperatingMode.Agent, Duration = TimeSpan.FromMinutes(5) });
        var agent = new CountingAgent();
        sim.AttachAgent(agent);
        sim.AdvanceSteps(long.MaxValue);
        Assert.Equal(30, agent.Ticks);
        Assert.Equal("agent", sim.Summary().Mode);
    }

    private sealed class CountingAgent : Aida.Model.Plant.IPlantAgent
    {
        public int Ticks { get; private set; }

        public void Tick(DateTimeOffset now) => Ticks++;
    }
}
