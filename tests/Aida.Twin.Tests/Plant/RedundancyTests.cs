using Aida.Twin.Simulation;

namespace Aida.Twin.Tests.Plant;

public class RedundancyTests
{
    [Fact]
    public void OneCduPumpFails_TheStandbyRestoresFlowWithinSeconds()
    {
        var sim = new Simulator(TestPlants.Tiny(faults: "faults:\n  - {kind: cdu-pump-failure, asset: cdu-1, start: 10m, pumps: 1}"), new SimulationOptions { NoOperator = true });
        sim.Advance(600);
        var design = sim.Truth("cdu-1/flow");
        sim.Advance(2);
        Assert.True(sim.Truth("cdu-1/flow") < 0.75 * design, "flow falls while the standby starts");
        sim.Advance(10);
        Assert.Equal(design, sim.Truth("cdu-1/flow"), 6);
        Assert.Equal(1, sim.Truth("cdu-1/pump_faults"));
    }

    [Fact]
    public void CrahFails_TheStandbyStarts()
    {
        var sim = new Simulator(TestPlants.Tiny(faults: "faults:\n  - {kind: crah-fan-failure, asset: crah-1, start: 10m}"), new SimulationOptions { NoOperator = true });
        sim.Advance(601);
        Assert.Equal(0, sim.Truth("crah-3/running"));
        sim.Advance(60);
        Assert.Equal(1, sim.Truth("crah-3/running"));
        Assert.Equal(1, sim.Truth("crah-1/fault"));
    }

    [Fact]
    public void ChillerTrips_TheStandbyTakesItsRestartTime()
    {
        var sim = new Simulator(TestPlants.Tiny(ambient: 30, faults: "faults:\n  - {kind: chiller-trip, asset: chiller-1, start: 1h, duration: 2h}"), new SimulationOptions { NoOperator = true });
        sim.Advance(3600);
        var before = sim.Truth("facility-water/supply_temperature");
        sim.Advance(240);
        Assert.Equal(0, sim.Truth("chiller-2/running"));
        Assert.True(sim.Truth("facility-water/supply_temperature") > before + 1, "facility water warms while no chiller runs");
        sim.Advance(120);
        Assert.Equal(1, sim.Truth("chiller-2/running"));
        sim.Advance(3600);
        Assert.InRange(sim.Truth("facility-water/supply_temperature"), before - 0.3, before + 0.3);
    }
}
