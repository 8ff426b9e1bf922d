using Aida.Model.Config;
using Aida.Model.Facility;

namespace Aida.Model.Tests.Facility;

public class FactoryLoaderTests
{
    [Fact]
    public void Load_Ref10Mw_HasTheReferenceLayout()
    {
        var f = FactoryLoader.Load(Repo.Factory("ref-10mw"));
        Assert.Equal(2, f.Halls.Count);
        Assert.Equal(80, f.Racks.Count);
        Assert.Equal(80 * 72, f.GpuCount);
        Assert.Equal(10, f.Cooling.Cdus.Count);
        Assert.All(f.Racks, r => Assert.Equal(2, r.Busways.Count));

        // ~120 kW per NVL72-class rack, ~10 MW in all.
        Assert.InRange(f.RackProfile.MaxPowerWatts(f.Gpu), 110_000, 140_000);
        Assert.InRange(f.DesignItPowerWatts, 9e6, 11e6);
        Assert.Equal(8, f.Racks.Count(r => r.Cdu == "cdu-h1-a"));
    }

    [Fact]
    public void Load_Ref1Gw_ExpandsTemplatesToAbout8000Racks()
    {
        var f = FactoryLoader.Load(Repo.Factory("ref-1gw"));
        Assert.Equal(8000, f.Racks.Count);
        Assert.InRange(f.DesignItPowerWatts, 0.9e9, 1.1e9);
        Assert.Contains(f.Racks, r => r.Id == "r001-01-01");
        Assert.Contains(f.Racks, r => r.Id == "r100-10-08");
        Assert.Equal(f.Racks.Count, f.Racks.Select(r => r.Id).Distinct().Count());
    }

    [Fact]
    public void Load_Ref10MwTower_HasTowersAndWaterCooledChillers_OnTheSameFactory()
    {
        var dry = FactoryLoader.Load(Repo.Factory("ref-10mw"));
        var f = FactoryLoader.Load(Repo.Factory("ref-10mw-tower"));
        Assert.True(f.Cooling.EvaporativeEconomiser);
        Assert.False(dry.Cooling.EvaporativeEconomiser);
        Assert.Empty(f.Cooling.DryCoolers);
        Assert.Equal(6, f.Cooling.CoolingTowers.Count);
        Assert.All(f.Cooling.CoolingTowers, t => Assert.Equal((2.5e6, 5.5, 4.0), (t.CapacityWatts, t.ApproachCelsius, t.CyclesOfConcentration)));
        Assert.All(f.Cooling.Chillers, c => Assert.Equal((CondenserKind.Water, 80_000.0), (c.Condenser, c.CondenserPumpWatts)));
        Assert.All(dry.Cooling.Chillers, c => Assert.Equal((CondenserKind.Air, 0.0), (c.Condenser, c.CondenserPumpWatts)));
        Assert.Equal(dry.Racks.Count, f.Racks.Count);
        Assert.Equal(dry.DesignItPowerWatts, f.DesignItPowerWatts);

        // A tower bank cools the facility water and takes the water-cooled chillers' condenser heat.
        Assert.Contains("chiller-1", f.Topology.Downstream("ct-1", Aida.Model.Topology.EdgeKind.Cools));
    }

    [Theory]
    [InlineData("    - {id: dc-6, capacity_kw: 2500, approach_celsius: 8, fan_power_kw: 45, feed: utility-b}\n",
        "    - {id: dc-6, capacity_kw: 2500, approach_celsius: 8, fan_power_kw: 45, feed: utility-b}\n  cooling_towers:\n    - {id: ct-1, capacity_kw: 2500, approach_celsius: 5.5, fan_power_kw: 40, feed: utility-a}\n",
        "cooling.cooling_towers: the economiser is either dry coolers or cooling towers; this file has 6 dry cooler(s) and 1 tower(s)")]
    [InlineData("{id: chiller-1, capacity_kw: 5000,", "{id: chiller-1, condenser: water, capacity_kw: 5000,",
        "cooling.chillers[0].condenser: a water-cooled chiller needs cooling_towers to reject its condenser heat; this file has none")]
    [InlineData("{id: chiller-1, capacity_kw: 5000,", "{id: chiller-1, condenser: evaporative, capacity_kw: 5000,",
        "cooling.chillers[0].condenser:")]
    [InlineData("{id: chiller-1, capacity_kw: 5000,", "{id: chiller-1, condenser_pump_kw: 80, capacity_kw: 5000,",
        "cooling.chillers[0].condenser_pump_kw: an air-cooled chiller has no condenser water pump; set condenser: water or remove it")]
    public void Load_AHeatRejectionThatCannotWork_NamesTheField(string find, string replace, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => FactoryLoader.Load(Repo.FactoryWith(find, replace)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TowerCyclesOfConcentration_OutOfRange_IsAnError()
    {
        var text = File.ReadAllText(Repo.Factory("ref-10mw-tower")).Replace("cycles_of_concentration: 4, feed: utility-b}", "cycles_of_concentration: 1, feed: utility-b}", StringComparison.Ordinal);
        var e = Assert.Throws<ConfigException>(() => FactoryLoader.Load(Repo.Scratch(text)));
        Assert.Contains("cooling.cooling_towers[1].cycles_of_concentration: 1 is out of range [1.5, 20]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RatedItd_IsTheUnitsOwnOrTheRatingDefault_AndNotAboveTheApproachIsAnError()
    {
        var f = FactoryLoader.Load(Repo.FactoryWith("{id: dc-6, capacity_kw: 2500, approach_celsius: 8,", "{id: dc-6, capacity_kw: 2500, approach_celsius: 8, rated_itd_celsius: 20,"));
        Assert.Equal((15.0, 20.0), (f.Cooling.DryCoolers[0].RatedItdCelsius, f.Cooling.DryCoolers.Single(d => d.Id == "dc-6").RatedItdCelsius));
        // 2.5 MW at 15 K: 1.25 MW at 7.5 K, none with the water at or below the dry bulb.
        Assert.Equal((1.25e6, 0.0, 5e6), (f.Cooling.DryCoolers[0].CapacityAt(7.5), f.Cooling.DryCoolers[0].CapacityAt(-2), f.Cooling.DryCoolers[0].CapacityAt(30)));
        Assert.Equal(11.0, FactoryLoader.Load(Repo.Factory("ref-10mw-tower")).Cooling.CoolingTowers[0].RatedItdCelsius);

        var e = Assert.Throws<ConfigException>(() => FactoryLoader.Load(Repo.FactoryWith("{id: dc-6, capacity_kw: 2500, approach_celsius: 8,", "{id: dc-6, capacity_kw: 2500, approach_celsius: 8, rated_itd_celsius: 8,")));
        Assert.Contains("rated_itd_celsius: 8 K is not above approach_celsius (8 K): the water enters warmer than it leaves", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SiteDesignDryBulb_IsTheFactorysOwn_AndOutOfRangeIsAnError()
    {
        var f = FactoryLoader.Load(Repo.FactoryWith("  latitude: 39.08\n", "  latitude: 39.08\n  design_dry_bulb_celsius: 36.5\n"));
        Assert.Equal((36.5, true), (f.Site.DesignDryBulbCelsius, f.Site.DesignDryBulbConfigured));
        Assert.Null(FactoryLoader.Load(Repo.Factory("ref-10mw")).Site.DesignDryBulbCelsius);

        var e = Assert.Throws<ConfigException>(() => FactoryLoader.Load(Repo.FactoryWith("  latitude: 39.08\n", "  latitude: 39.08\n  design_dry_bulb_celsius: 95\n")));
        Assert.Contains("site.design_dry_bulb_celsius: 95 is out of range [-60, 60]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownCdu_NamesFileLineAndField()
    {
        var path = Repo.FactoryWith("  - {id: h1-a04, hall: hall-1, row: A, cdu: cdu-h1-a,", "  - {id: h1-a04, hall: hall-1, row: A, cdu: cdu-9,");
        var e = Assert.Throws<ConfigException>(() => FactoryLoader.Load(path, "factories/ref-10mw.yaml"));
        var line = File.ReadAllLines(path).ToList().FindIndex(l => l.Contains("cdu-9", StringComparison.Ordinal)) + 1;
        Assert.Equal($"factories/ref-10mw.yaml:{line}: racks[3].cdu: unknown CDU 'cdu-9'", e.Message);
    }

    [Fact]
    public void Load_DuplicateId_IsAnError()
    {
        var path = Repo.FactoryWith("  - {id: h1-a02,", "  - {id: h1-a01,");
        var e = Assert.Throws<ConfigException>(() => FactoryLoader.Load(path));
        Assert.Contains("racks[1].id: 'h1-a01' is already used by a rack", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownBusway_IsAnError()
    {
        var path = Repo.FactoryWith("busways: [bw-h2-a, bw-h2-b]}\n  - {id: h2-a02", "busways: [bw-h2-a, bw-h9-b]}\n  - {id: h2-a02");
        var e = Assert.Throws<ConfigException>(() => FactoryLoader.Load(path));
        Assert.Contains("racks[40].busways[1]: unknown busway 'bw-h9-b'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_OutOfRangeSetpoint_IsAnError()
    {
        var path = Repo.FactoryWith("supply_setpoint_celsius: 20\n", "supply_setpoint_celsius: 60\n");
        var e = Assert.Throws<ConfigException>(() => FactoryLoader.Load(path));
        Assert.Contains("cooling.facility_water.supply_setpoint_celsius: 60 is out of range [10, 45]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_IdleAboveMax_IsAnError()
    {
        var path = Repo.FactoryWith("idle_power_watts: 200", "idle_power_watts: 1500");
        var e = Assert.Throws<ConfigException>(() => FactoryLoader.Load(path));
        Assert.Contains("gpu.idle_power_watts: must be below max_power_watts", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TemplateWithoutCount_IsAnError()
    {
        var path = Repo.FactoryWith("  - {id: h1-a01,", "  - {id: \"h1-a{n}\",");
        var e = Assert.Throws<ConfigException>(() => FactoryLoader.Load(path));
        Assert.Contains("is a template but the entry has no count", e.Message, StringComparison.Ordinal);
    }
}
