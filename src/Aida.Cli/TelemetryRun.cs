using Aida.Telemetry.Ingest;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;

namespace Aida.Cli;

/// <summary>What a run's telemetry store holds when it ends.</summary>
internal sealed record TelemetryFigures(long Samples, int Series, long BytesOnDisk, long Rejected)
{
    public double BytesPerSample => Samples > 0 ? (double)BytesOnDisk / Samples : 0;
}

/// <summary>Runs a simulation while recording every sensor and GPU sample into an embedded store on disk.</summary>
internal static class TelemetryRun
{
    public static (SimulationSummary Summary, TelemetryFigures Figures) Run(Simulator simulator, string directory, Action<double>? progress) =>
        Run(simulator, directory, progress, afterRun: null);

    /// <summary>As <see cref="Run(Simulator, string, Action{double}?)"/>, then <paramref name="afterRun"/> reads the finished
    /// run's store (the SLOs' evaluation) before it is closed, and may add to the summary.</summary>
    public static (SimulationSummary Summary, TelemetryFigures Figures) Run(
        Simulator simulator, string directory, Action<double>? progress, Func<Tsdb, SimulationSummary, SimulationSummary>? afterRun)
    {
        if (Directory.Exists(directory))
        {
            // A run's store holds that run only: samples of an earlier run would be out of order or conflicting.
            Directory.Delete(directory, recursive: true);
        }

        var options = new TsdbOptions
        {
            DataDirectory = directory,
            Clock = simulator.Clock,

            // The WAL syncs every 10 simulated minutes: a simulation that dies is re-run, not recovered second by second.
            WalFlushInterval = TimeSpan.FromMinutes(10),
            Retention = TimeSpan.FromDays(3650),
        };
        using var store = new Tsdb(options);
        var recorder = new PlantTelemetryRecorder(store, simulator.Plant, simulator.GpuCatalog, simulator.Scenario.Factory.Site.Name);
        simulator.RecordTo(recorder);

        // Hour by hour, so the head is cut into blocks as it fills and memory stays bounded.
        var stepsPerHour = (long)Math.Round(3600 / simulator.Scenario.Step.TotalSeconds);
        while (!simulator.Finished)
        {
            simulator.AdvanceSteps(stepsPerHour);
            store.Compact();
            progress?.Invoke((double)simulator.StepsDone / simulator.Steps);
        }

        store.Flush();
        store.Compact();
        var stats = store.Stats;
        var summary = simulator.Summary();
        if (afterRun is not null)
        {
            summary = afterRun(store, summary);
        }

        return (summary, new TelemetryFigures(stats.SampleCount, stats.SeriesCount, stats.BytesOnDisk, recorder.Rejected));
    }
}
