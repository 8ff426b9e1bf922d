using System.Collections.Concurrent;
using Aida.Model.Facility;
using Aida.Model.Scenarios;
using Aida.Telemetry.Ingest;
using Aida.Telemetry.Query;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;

namespace Aida.Observability.Tests;

/// <summary>A short twin run recorded into an in-memory store, as <c>aida simulate</c> records it: the module under test
/// sees only <see cref="Query"/> and <see cref="Factory"/>; <see cref="Summary"/> is the twin's ground truth, for the
/// tests' eyes only.</summary>
internal sealed class TwinTelemetry
{
    private static readonly ConcurrentDictionary<(string, TimeSpan, OperatingMode, int?), Lazy<TwinTelemetry>> Runs = new();

    private TwinTelemetry(string scenarioName, TimeSpan duration, OperatingMode mode, int? seed)
    {
        var scenario = ScenarioLoader.Load(scenarioName);
        var sim = new Simulator(scenario, new SimulationOptions { Duration = duration, Mode = mode, Seed = seed });
        var store = new Tsdb(new TsdbOptions { Clock = sim.Clock, Retention = TimeSpan.FromDays(3650) });
        var recorder = new PlantTelemetryRecorder(store, sim.Plant, sim.GpuCatalog, scenario.Factory.Site.Name);
        sim.RecordTo(recorder);
        Summary = sim.Run();
        if (recorder.Rejected != 0)
        {
            throw new InvalidOperationException($"the store refused {recorder.Rejected} samples");
        }

        Query = new EmbeddedQueryEngine(store);
        Factory = scenario.Factory;
        Start = scenario.Start;
        End = scenario.Start + duration;
    }

    public IQueryEngine Query { get; }

    public Factory Factory { get; }

    public SimulationSummary Summary { get; }

    public DateTimeOffset Start { get; }

    public DateTimeOffset End { get; }

    /// <summary>One run per scenario, duration and operator per test process: the tests that share it only read it.</summary>
    /// <param name="mode">Who runs the plant (default the human baseline; the evaluation runs the digital one).</param>
    /// <param name="seed">The run's seed (default the scenario's own; the evaluation runs seeds 1-3).</param>
    public static TwinTelemetry Of(string scenario, TimeSpan duration, OperatingMode mode = OperatingMode.Human, int? seed = null) =>
        Runs.GetOrAdd((scenario, duration, mode, seed), key => new Lazy<TwinTelemetry>(() => new TwinTelemetry(key.Item1, key.Item2, key.Item3, key.Item4))).Value;
}
