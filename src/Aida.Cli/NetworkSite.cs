using Aida.Model.Plant;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Series;

namespace Aida.Cli;

/// <summary>A site collected over the network: its collectors running under a <see cref="CollectorHost"/> into a store,
/// the <see cref="NetworkPlant"/> that reads that store and writes through the collectors' actuator writers, and the
/// <see cref="DcgmRollup"/> that derives the plant's GPU points from DCGM's per-GPU series at each <see cref="Tick"/>.</summary>
internal sealed class NetworkSite : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _collecting;
    private readonly TimeProvider _clock;
    private readonly TextWriter _log;
    private readonly DcgmRollup? _rollup;
    private bool _toldUnplaced;
    private bool _toldInferred;
    private readonly Dictionary<(string Kind, string Name), string> _assetOf;

    /// <param name="design">The plant's points and actuators by design (from the factory).</param>
    /// <param name="appender">Where samples go (the store, or a forwarder in front of it).</param>
    /// <param name="store">The store read back for the plant's points.</param>
    /// <param name="gpuSlowdownCelsius">The design GPU's slowdown temperature (<see cref="DcgmRollup"/>).</param>
    public NetworkSite(Site site, IPlant design, ISampleAppender appender, ISeriesSource store, TimeProvider clock, TextWriter log, double gpuSlowdownCelsius)
    {
        Site = site;
        _clock = clock;
        _log = log;
        Sink = new CollectorSink(appender, site.Labels, clock, log);
        // Each writer's collector: a write to a device its collector reports down fails at once after one that failed, and
        // a device back from an outage or a restart is where it reads back, not where it was last written (GuardedPlant).
        var collectorOf = site.Collectors.SelectMany(c => (c as IActuatorSource)?.Writers.Select(w => (Writer: w, Collector: c)) ?? [])
            .ToDictionary(x => x.Writer, x => x.Collector);
        // The one asset each entry writes (a CDU's controller, a rack's BMC): what a restart of that device concerns.
        _assetOf = collectorOf.GroupBy(x => (x.Value.Kind, x.Value.Name))
            .Select(g => (g.Key, Assets: g.Select(x => Aida.Automation.Safety.Lockouts.AssetOf(x.Key.Actuator)).Distinct(StringComparer.Ordinal).ToList()))
            .Where(x => x.Assets.Count == 1)
            .ToDictionary(x => x.Key, x => x.Assets[0]);
        Plant = new NetworkPlant(design, store, CollectorCatalog.Writers(site), clock, log,
            w => collectorOf.TryGetValue(w, out var c) && Sink.HealthOf(c.Kind, c.Name) is { Up: false, Errors: > 0 },
            w => collectorOf.TryGetValue(w, out var c) ? Sink.ReturnOf(c.Kind, c.Name) : null);
        var rollup = new DcgmRollup(design.Points, store, appender, gpuSlowdownCelsius);
        _rollup = rollup.HasTargets ? rollup : null;
        _collecting = new CollectorHost(site.Collectors, Sink).RunAsync(_stop.Token);
    }

    /// <summary>The one asset whose actuators the collector entry <paramref name="device"/> of <paramref name="kind"/>
    /// writes (a CDU's controller, a rack's BMC), or null for an entry that writes none or several assets' (an upsd with
    /// several UPSes): the asset a restart of that device concerns, for on-call alerts.</summary>
    public string? AssetOf(string kind, string device) => _assetOf.GetValueOrDefault((kind, device));

    /// <summary>The GPU roll-up's last result (null before the first tick, or when the design has no GPU points).</summary>
    public RollupResult? Rollup { get; private set; }

    /// <summary>Called from the run loop every operator interval: rolls the GPUs up as of now, and says once when GPUs
    /// cannot be placed or are judged by temperature alone.</summary>
    public void Tick()
    {
        if (_rollup is null)
        {
            return;
        }

        var r = _rollup.Write(_clock.GetUtcNow());
        var inferredBefore = Rollup?.InferredGpus ?? 0;
        Rollup = r;
        if (r.UnplacedGpus > 0 && !_toldUnplaced)
        {
            _toldUnplaced = true;
            _log.WriteLine($"GPU roll-up: {r.UnplacedGpus} of {r.Gpus} GPUs' DCGM_FI_DEV_GPU_TEMP series carry neither a rack nor a hall label, so they count in no rack's throttled GPUs (add labels: {{rack: ...}} to their scrape entry)");
        }

        // Twice in a row: a tick between one scrape's temperatures and its reasons judges that scrape's GPUs so once.
        if (r.InferredGpus > 0 && inferredBefore > 0 && !_toldInferred)
        {
            _toldInferred = true;
            _log.WriteLine($"GPU roll-up: {r.InferredGpus} of {r.Gpus} GPUs are served without {GpuClockEvents.Metric}; they count as throttled at or above the design's slowdown temperature (add the field to the DCGM exporter's counters for the GPU's own word)");
        }
    }

    public Site Site { get; }

    public CollectorSink Sink { get; }

    public NetworkPlant Plant { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _collecting;
        foreach (var c in Site.Collectors.OfType<IDisposable>())
        {
            c.Dispose();
        }

        _stop.Dispose();
    }
}
