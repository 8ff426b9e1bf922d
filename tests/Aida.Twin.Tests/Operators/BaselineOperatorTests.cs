using Aida.Twin.Simulation;

namespace Aida.Twin.Tests.Operators;

public class BaselineOperatorTests
{
    [Fact]
    public void Human_IsolatesALeakingRack_AfterRoundsAndHandDelay()
    {
        var s = TestPlants.Bundled("faults/leak", "6h");
        var sim = new Simulator(s, new SimulationOptions { Mode = OperatingMode.Human });
        sim.Advance(7200 + 60);
        Assert.Equal(0, sim.Truth("h1-c03/isolated"));
        sim.Advance(3 * 3600);
        Assert.Equal(1, sim.Truth("h1-c03/isolated"));
        var summary = sim.Summary();
        Assert.True(summary.Operator.ManualActions > 0);
        Assert.True(summary.Operator.MeanTimeToNoticeSeconds >= 600, "humans notice on rounds, tens of minutes late");
    }

    [Fact]
    public void Digital_RespondsFasterThanHuman_OnTheSameFault()
    {
        var s = TestPlants.Bundled("faults/crah-fan-failure", "8h");
        var human = new Simulator(s, new SimulationOptions { Mode = OperatingMode.Human }).Run();
        var digital = new Simulator(s, new SimulationOptions { Mode = OperatingMode.Digital }).Run();
        Assert.True(digital.Operator.MeanTimeToNoticeSeconds < human.Operator.MeanTimeToNoticeSeconds);
        Assert.True(digital.Operator.MeanTimeToFixSeconds < human.Operator.MeanTimeToFixSeconds);
    }

    [Fact]
    public void Human_CutsTheDamageOfAPumpFailure_ComparedWithNobody()
    {
        var s = TestPlants.Bundled("faults/cdu-pump-failure", "8h");
        var nobody = new Simulator(s, new SimulationOptions { NoOperator = true }).Run();
        var human = new Simulator(s, new SimulationOptions { Mode = OperatingMode.Human }).Run();
        Assert.True(human.GpuShutdownSeconds < nobody.GpuShutdownSeconds, $"human {human.GpuShutdownSeconds} vs nobody {nobody.GpuShutdownSeconds}");
    }
}
