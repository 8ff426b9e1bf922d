using Aida.Model.Plant;
using Aida.Twin.Simulation;

namespace Aida.Twin.Tests.Simulation;

public class StandingSetpointsTests
{
    [Theory]
    // Digital would run 20 °C water and 30 °C CDU supply in July, human 18 and 25; 21 and 31 raise no alarm (a warmer
    // setpoint that does may be lowered for a while by a fix, and restored later).
    [InlineData(OperatingMode.Digital)]
    [InlineData(OperatingMode.Human)]
    public void Setpoints_ReplaceTheOperatorsStandingOnes(OperatingMode mode)
    {
        var simulator = new Simulator(TestPlants.Bundled("reference", "2h"), new SimulationOptions
        {
            Mode = mode,
            Setpoints = new StandingSetpoints(FacilityWaterSupplyCelsius: 21, CduSupplyCelsius: 31),
        });
        var summary = simulator.Run();
        Assert.Equal(0, summary.Operator.AlarmsRaised);
        Assert.Equal(21, simulator.Plant.ReadValue("facility-water/supply_setpoint"), 1);
        Assert.Equal(31, simulator.Plant.ReadValue("cdu-h1-a/supply_setpoint"), 1);
    }

    [Fact]
    public void WarmerStandingWater_LowersPue()
    {
        double Pue(double water) => new Simulator(TestPlants.Bundled("reference", "2h"), new SimulationOptions
        {
            Mode = OperatingMode.Digital,
            Setpoints = new StandingSetpoints(FacilityWaterSupplyCelsius: water),
        }).Run().Pue;

        Assert.True(Pue(26) < Pue(18));
    }
}
