using Aida.Model.Config;
using Aida.Model.Facility;
using Aida.Observability.Derived;
using Aida.Telemetry.Ingest;
using Aida.Telemetry.Query;
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
        Simulator simulator, string directory, Action<double>? progress, Func<Tsdb, SimulationSummary, SimulationSummary>? afterRun, Action<Tsdb>? beforeRun = null)
    {
        // A run's store holds that run only: samples of an earlier run would be out of order or conflicting. Refused while
        // another run still writes there.
        Tsdb.DeleteStore(directory);

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
        var factory = simulator.Scenario.Factory;
        var derived = new DerivedSeriesWriter(new EmbeddedQueryEngine(store), store, factory, GridOf(factory), DerivedPeriod);
        var nextDerived = simulator.Scenario.Start + DerivedPeriod;
        beforeRun?.Invoke(store);

        // Hour by hour, so the head is cut into blocks as it fills and memory stays bounded; the hour's derived metrics
        // are written before it is cut.
        var stepsPerHour = (long)Math.Round(3600 / simulator.Scenario.Step.TotalSeconds);
        while (!simulator.Finished)
        {
            simulator.AdvanceSteps(stepsPerHour);
            for (; nextDerived <= simulator.Clock.GetUtcNow(); nextDerived += DerivedPeriod)
            {
                derived.WriteAsync(nextDerived).GetAwaiter().GetResult();
            }

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

    /// <summary>The run's derived metrics from its telemetry alone, into the summary's <c>observed</c> section.</summary>
    public static SimulationSummary WithObserved(SimulationSummary summary, Tsdb store, Factory factory, DateTimeOffset start)
    {
        var end = start + TimeSpan.FromSeconds(summary.DurationSeconds);
        var metrics = new FacilityMetrics(new EmbeddedQueryEngine(store), factory);
        var pue = metrics.PueAsync(start, end).GetAwaiter().GetResult();
        var halls = metrics.PartialPueAsync(start, end).GetAwaiter().GetResult();
        var factors = metrics.LoadFactorsAsync(start, end).GetAwaiter().GetResult();
        var grid = GridOf(factory);
        var carbon = grid is null ? (CarbonReading?)null : metrics.CarbonAsync(start, end, grid).GetAwaiter().GetResult();
        var water = metrics.WaterAsync(start, end).GetAwaiter().GetResult();
        return summary with
        {
            Observed = new ObservedMetrics(
                pue.Pue,
                $"PUE{(int)pue.Category}",
                [.. halls.Select(h => KeyValuePair.Create(h.Hall, h.PartialPue))],
                factors.Clf,
                factors.Plf,
                carbon?.KgCo2,
                carbon?.Cue)
            {
                WaterLitres = water?.Litres,
                Wue = water?.Wue,
            },
        };
    }

    /// <summary>How often a simulated run writes its derived metrics (PUE, load factors, headroom, carbon).</summary>
    public static readonly TimeSpan DerivedPeriod = TimeSpan.FromMinutes(5);

    /// <summary>The grid-carbon data the factory's site names (bundled under <c>carbon/</c>), or null when it names none.</summary>
    /// <exception cref="ConfigException">The file is named but not found or unreadable.</exception>
    public static GridIntensity? GridOf(Factory factory)
    {
        if (factory.Site.GridCarbon.Length == 0)
        {
            return null;
        }

        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(factory.SourceFile)) ?? ".";
        var path = BundledFiles.Resolve(factory.Site.GridCarbon, "carbon", baseDirectory);
        try
        {
            return GridIntensity.Load(path);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            throw new ConfigException(factory.SourceFile, 0, "site.grid_carbon", $"grid-carbon file '{factory.Site.GridCarbon}': {e.Message}");
        }
    }
}
