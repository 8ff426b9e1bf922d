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
