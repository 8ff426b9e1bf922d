using Aida.Model.Scenarios;
using Aida.Telemetry.Ingest;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;

namespace Aida.Bench;

/// <summary>The reference scenario's telemetry as the twin records it (ref-10mw, every point each 10 s and the GPUs'
/// DCGM series), human mode, for a while from the scenario's start: the data the agent's benchmarks read.</summary>
internal static class RecordedReference
{
    /// <summary>Runs the twin for <paramref name="duration"/> into a new in-memory store.</summary>
    /// <returns>The store, the scenario, and the end of what was recorded.</returns>
    public static (Tsdb Store, Scenario Scenario, DateTimeOffset End) Record(TimeSpan duration)
    {
        var scenario = ScenarioLoader.Load("reference");
        var sim = new Simulator(scenario, new SimulationOptions { Mode = OperatingMode.Human, Duration = duration });
        var store = new Tsdb(new TsdbOptions { Clock = sim.Clock, Retention = TimeSpan.FromDays(3650) });
        sim.RecordTo(new PlantTelemetryRecorder(store, sim.Plant, sim.GpuCatalog, scenario.Factory.Site.Name));
        sim.Run();
        return (store, scenario, scenario.Start + duration);
    }
}
