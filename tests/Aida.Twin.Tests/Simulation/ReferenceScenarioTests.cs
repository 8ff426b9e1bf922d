using Aida.Twin.Simulation;

namespace Aida.Twin.Tests.Simulation;

/// <summary>The reference week: what docs/twin.md quotes.</summary>
public class ReferenceScenarioTests
{
    private static readonly Lazy<SimulationSummary> Human = new(() => new Simulator(TestPlants.Bundled("reference"), new SimulationOptions { Mode = OperatingMode.Human }).Run());
    private static readonly Lazy<SimulationSummary> Digital = new(() => new Simulator(TestPlants.Bundled("reference"), new SimulationOptions { Mode = OperatingMode.Digital }).Run());

    [Fact]
    public void Human_PueIsBetween125And160() => Assert.InRange(Human.Value.Pue, 1.25, 1.6);

    [Fact]
    public void Digital_PueIsBelowHuman_OnTheSameSeed() => Assert.True(Digital.Value.Pue < Human.Value.Pue, $"digital {Digital.Value.Pue} vs human {Human.Value.Pue}");

    [Fact]
    public void NoFaults_NoThrottling_InletsWithinAshrae()
    {
        foreach (var s in new[] { Human.Value, Digital.Value })
        {
            Assert.Equal(0, s.GpuThrottledSeconds);
            Assert.True(s.MaxRackInletCelsius <= 27, $"{s.Mode}: inlet {s.MaxRackInletCelsius}");
            Assert.Empty(s.Faults);
        }
    }

    [Fact]
    public void EnergyAddsUp()
    {
        var s = Human.Value;
        Assert.Equal(s.FacilityEnergyKwh, s.ItEnergyKwh + s.CoolingEnergyKwh + s.ElectricalLossesKwh + s.MiscEnergyKwh, 3);
        Assert.Equal(s.FacilityEnergyKwh, s.EnergyBreakdownKwh.Values.Sum(), 3);
    }
}
