using Aida.Twin.Physics;
using Aida.Twin.Simulation;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Aida.Twin.Tests.Plant;

/// <summary>Dry coolers and air-cooled chillers against cooling towers and water-cooled chillers: what each rejects heat
/// against (dry bulb or wet bulb), what the towers cost in water, and what the chillers need from the towers.</summary>
public class HeatRejectionTests
{
    /// <summary>Hot, dry air as on a Phoenix July night: 38 °C dry bulb, 8 °C dew point (wet bulb about 19.5 °C).</summary>
    private static Simulator HotDry(string factory, double facilityWater, string faults = "") =>
        new(TestPlants.Tiny(0.9, facilityWater, ambient: 38, dewPointDepression: 30, factory: factory, faults: faults),
            new SimulationOptions { NoOperator = true });

    [Fact]
    public void InHotDryAir_TowersFreeCool_WhereDryCoolersCannot_AndTheSiteDrawsLess()
    {
        var dry = HotDry(TestPlants.TinyFactory, 24);
        var towers = HotDry(TestPlants.TinyTowerFactory, 24);
        dry.Advance(3 * 3600);
        towers.Advance(3 * 3600);
        var wetBulb = towers.Model.Ambient.WetBulbCelsius;
        Assert.InRange(wetBulb, 18.5, 20.5);

        // The dry coolers see 38 °C air and a ~29 °C return: nothing to give. The towers cool the return to the wet
        // bulb + 5.5 K, above the 24 °C setpoint, and the chiller trims the last degree.
        Assert.Equal(0, dry.Truth("economiser/heat"));
        var heat = towers.Model.Totals.HeatRejectedJoules;
        var economiser = towers.Truth("economiser/heat");
        var it = towers.Truth("site/it_power");
        Assert.InRange(economiser, 0.6 * it, it);
        Assert.InRange(towers.Truth("facility-water/supply_temperature"), 23.5, 24.5);
        Assert.InRange(dry.Truth("facility-water/supply_temperature"), 23.5, 24.5);
        Assert.True(heat > 0);

        // Less chiller work at a lower lift (condensing above the wet bulb, not the dry bulb): less facility power for
        // the same IT.
        Assert.Equal(dry.Truth("site/it_power"), it, 0.001 * it);
        Assert.True(towers.Truth("site/facility_power") < dry.Truth("site/facility_power") - (0.05 * it),
            $"towers {towers.Truth("site/facility_power")} W, dry coolers {dry.Truth("site/facility_power")} W");
        Assert.True(towers.Truth("chiller-1/power") < 0.5 * dry.Truth("chiller-1/power"));

        // The dry plant uses no water; the towers do.
        Assert.Equal(0, dry.Model.Totals.WaterLitres);
        Assert.True(towers.Truth("ct-1/water") > 0);
    }

    [Property(MaxTest = 8, Replay = "1234567890123456789,987654321987654321")]
    public Property TowerWater_IsTheHeatTheyReject_OverTheLatentHeat_PlusBlowdown() =>
        Prop.ForAll(
            (from u in Gen.Choose(20, 100) from amb in Gen.Choose(0, 42) from fw in Gen.Choose(16, 26) select (u / 100.0, (double)amb, (double)fw)).ToArbitrary(),
            x =>
            {
                var (u, amb, fw) = x;
                var sim = new Simulator(TestPlants.Tiny(u, fw, ambient: amb, dewPointDepression: 12, factory: TestPlants.TinyTowerFactory),
                    new SimulationOptions { NoOperator = true });
                sim.Advance(3600);
                var t = sim.Model.Totals;
                var (water0, rejected0, chillers0) = (t.WaterLitres, t.HeatRejectedJoules, t.ChillerJoules);
                sim.Advance(3600);

                // Every joule the plant rejects leaves through the towers: the economiser's duty directly, the chillers'
                // duty plus their compressors' work through the condensers. Evaporation carries it as latent heat, and
                // blowdown at 4 cycles of concentration adds a third: 1.98 L per kWh.
                var heat = t.HeatRejectedJoules - rejected0 + (t.ChillerJoules - chillers0);
                var expected = heat / PhysicalConstants.WaterLatentHeat * 4 / 3 / PhysicalConstants.WaterDensity * 1000;
                var water = t.WaterLitres - water0;
                return (Math.Abs(water - expected) <= 0.01 * expected)
                    .Label($"water {water:0} L, expected {expected:0} L from {heat / 3.6e6:0} kWh");
            });

    [Fact]
    public void WaterCooledChillers_WithTheirTowersUnpowered_CoolNothing_AndTheWaterWarms_UntilTheTowersReturn()
    {
        // The tiny tower plant's towers hang on utility-b alone; its generator fails, then the utility drops for half
        // an hour. Chiller-1 still has power (utility-a) but nowhere to put its condenser heat.
        var sim = HotDry(TestPlants.TinyTowerFactory, 18, """
            faults:
              - {kind: generator-fail-to-start, asset: gen-b, start: 0s, duration: 4h}
              - {kind: utility-outage, asset: utility-b, start: 2h, duration: 30m}
            """);
        sim.Advance(2 * 3600 - 60);
        Assert.True(sim.Truth("chiller-1/power") > 0);
        Assert.True(sim.Truth("chiller-1/condenser_pump_power") > 0);
        Assert.InRange(sim.Truth("facility-water/supply_temperature"), 17.5, 18.5);

        sim.Advance(20 * 60);
        Assert.Equal(0, sim.Truth("chiller-1/power"));
        Assert.Equal(0, sim.Truth("chiller-1/condenser_pump_power"));
        Assert.Equal(0, sim.Truth("ct-1/fan_power"));
        Assert.Equal(0, sim.Truth("economiser/heat"));
        Assert.True(sim.Truth("facility-water/supply_temperature") > 21, $"{sim.Truth("facility-water/supply_temperature")} °C");

        // Power back at 2 h 30: the towers run again and the chiller pulls the water back to its setpoint within the hour.
        sim.Advance(3600);
        Assert.True(sim.Truth("chiller-1/power") > 0);
        Assert.InRange(sim.Truth("facility-water/supply_temperature"), 17.5, 18.5);
    }
}
