using Aida.Model.Plant;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Series;

namespace Aida.Cli;

/// <summary>A site collected over the network: its collectors running under a <see cref="CollectorHost"/> into a store,
/// and the <see cref="NetworkPlant"/> that reads that store and writes through the collectors' actuator writers.</summary>
internal sealed class NetworkSite : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _collecting;

    /// <param name="design">The plant's points and actuators by design (from the factory).</param>
    /// <param name="appender">Where samples go (the store, or a forwarder in front of it).</param>
    /// <param name="store">The store read back for the plant's points.</param>
    public NetworkSite(Site site, IPlant design, ISampleAppender appender, ISeriesSource store, TimeProvider clock, TextWriter log)
    {
        Site = site;
        Sink = new CollectorSink(appender, site.Labels, clock, log);
        Plant = new NetworkPlant(design, store, CollectorCatalog.Writers(site), clock, log);
        _collecting = new CollectorHost(site.Collectors, Sink).RunAsync(_stop.Token);
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
