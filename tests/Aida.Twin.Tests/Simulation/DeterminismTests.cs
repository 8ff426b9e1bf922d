using Aida.Twin.Simulation;

namespace Aida.Twin.Tests.Simulation;

public class DeterminismTests
{
    private static string Run(string scenario, int? seed, OperatingMode mode = OperatingMode.Human, string duration = "6h") =>
        new Simulator(TestPlants.Bundled(scenario, duration), new SimulationOptions { Seed = seed, Mode = mode }).Run().ToJson();

    [Fact]
    public void SameScenarioAndSeed_GiveByteIdenticalSummaries()
    {
        Assert.Equal(Run("reference", 3), Run("reference", 3));
        Assert.Equal(Run("faults/cdu-pump-failure", 9, OperatingMode.Digital), Run("faults/cdu-pump-failure", 9, OperatingMode.Digital));
    }

    [Fact]
    public void AnotherSeed_GivesAnotherRun() => Assert.NotEqual(Run("reference", 3), Run("reference", 4));

    [Fact]
    public void Summary_HasTheDocumentedFields()
    {
        var json = System.Text.Json.JsonDocument.Parse(Run("faults/chiller-trip", null, duration: "3h")).RootElement;
        foreach (var field in new[]
        {
            "scenario", "mode", "seed", "duration_seconds", "it_energy_kwh", "facility_energy_kwh", "cooling_energy_kwh",
            "electrical_losses_kwh", "pue", "max_rack_inlet_celsius", "max_gpu_temperature_celsius", "gpu_throttled_seconds", "faults",
        })
        {
            Assert.True(json.TryGetProperty(field, out _), $"summary.json lacks {field}");
        }

        var fault = json.GetProperty("faults")[0];
        Assert.Equal("chiller-trip", fault.GetProperty("kind").GetString());
        Assert.Equal("chiller-1", fault.GetProperty("asset").GetString());
        Assert.Equal(7200, fault.GetProperty("start_seconds").GetDouble());
        Assert.Equal(7200 + (6 * 3600), fault.GetProperty("end_seconds").GetDouble());
        Assert.Equal(10_800, json.GetProperty("duration_seconds").GetDouble());
    }
}
