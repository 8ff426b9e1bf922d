using System.Collections.Concurrent;
using System.Globalization;
using Aida.Model.Plant;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Collectors;

/// <summary>Where collectors put what they read: samples into the store with the site's labels, and per-device health
/// series, so a dead meter or a garbled frame is itself visible in telemetry.</summary>
/// <remarks>
/// Health series, labelled <c>collector</c> (the protocol) and <c>device</c> (the collector's name):
/// <list type="bullet">
/// <item><c>aida_collector_up</c>: 1 after a poll the device answered or a message, 0 after one it did not (refused, timed
/// out, lost, garbled), as Prometheus' <c>up</c> says whether the target answered the scrape. A request it answered with
/// an error (<see cref="Failed"/>) counts as an error and keeps it up.</item>
/// <item><c>aida_collector_malformed_total</c>: frames, payloads or lines that could not be decoded.</item>
/// <item><c>aida_collector_errors_total</c>: failed polls, timeouts, refused connections and exception responses.</item>
/// <item><c>aida_collector_poll_duration_seconds</c>: how long the last poll took.</item>
/// <item><c>aida_collector_restarts_total</c>: restarts found between two polls the device answered (its uptime went
/// back: <see cref="Restarted"/>), written once the first is found.</item>
/// </list>
/// Problems are also logged, at most one line per device every <see cref="LogInterval"/> (the count of suppressed ones
/// is given with the next). Thread-safe: every collector of a site shares one sink.
/// </remarks>
public sealed class CollectorSink
{
    /// <summary>The shortest time between two log lines about the same device.</summary>
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly ISampleAppender _store;
    private readonly Labels _siteLabels;
    private readonly TimeProvider _clock;
    private readonly TextWriter _log;
    // Each series' id in the store and the collector and device that first wrote it, in one lookup per sample.
    private readonly ConcurrentDictionary<Labels, (int Id, string Collector, string Device)> _series = new();
    private readonly ConcurrentDictionary<(string Kind, string Device), DeviceHealth> _health = new();

    public CollectorSink(ISampleAppender store, Labels siteLabels, TimeProvider clock, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(siteLabels);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(log);
        _store = store;
        _siteLabels = siteLabels;
        _clock = clock;
        _log = log;
    }

    public TimeProvider Clock => _clock;

    /// <summary>Samples stored since start.</summary>
    public long SamplesStored => Interlocked.Read(ref _stored);

    private long _stored;

    /// <summary>Stores one reading: <paramref name="labels"/> (the metric name and the reading's own labels) plus the
    /// site's labels where the reading does not set them. A label set that breaks Prometheus' naming rules is counted as
    /// malformed for the device, not thrown.</summary>
    /// <returns>Whether the store took the sample (out-of-order and duplicate samples are refused as Prometheus does).</returns>
    public bool Sample(string kind, string device, Labels labels, long timestampMs, double value)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var full = WithSiteLabels(labels);
        int id;
        try
        {
            id = _series.GetOrAdd(full, static (l, a) => (a.Store.GetOrCreateSeries(l), a.Kind, a.Device), (Store: _store, Kind: kind, Device: device)).Id;
        }
        catch (InvalidSeriesException e)
        {
            Malformed(kind, device, $"reading {labels}: {e.Message}");
            return false;
        }

        var status = _store.Append(id, timestampMs, value);
        if (status == AppendStatus.Ok)
        {
            Interlocked.Increment(ref _stored);
            return true;
        }

        return false;
    }

    /// <summary>The collector (its protocol) and device that deliver <paramref name="series"/> (a stored series' full
    /// labels), as <c>aida_collector_up</c> labels them; null for a series no collector of this sink has written. The
    /// first device to write a series keeps it.</summary>
    public (string Collector, string Device)? SourceOf(Labels series) =>
        _series.TryGetValue(series, out var known) ? (known.Collector, known.Device) : null;

    /// <summary>Marks a series stale (its device stopped reporting it), as Prometheus does when a target vanishes.</summary>
    public void Stale(string kind, string device, Labels labels, long timestampMs) =>
        Sample(kind, device, labels, timestampMs, StaleMarker.Value);

    /// <summary>A poll or message that worked: the device is up.</summary>
    public void Up(string kind, string device, TimeSpan pollDuration)
    {
        var h = Health(kind, device);
        if (!h.Up && Interlocked.Read(ref h.Errors) > 0)
        {
            // From the poll's start, to the millisecond below: the readings of the poll that reached it are stamped
            // then, before this report (a guard waiting for a reading from after the return took them for older ones).
            var start = (_clock.GetUtcNow() - pollDuration).ToUnixTimeMilliseconds();
            var at = DateTimeOffset.FromUnixTimeMilliseconds(start);
            h.Return = Interlocked.Read(ref h.LastAnswerTicks) == 0 ? DeviceReturn.FirstReached(at) : DeviceReturn.ReachedAgain(at);
        }

        h.Up = true;
        Interlocked.Exchange(ref h.DownSinceTicks, 0);
        Interlocked.Exchange(ref h.LastAnswerTicks, _clock.GetUtcNow().UtcTicks);
        var now = Now();
        Sample(kind, device, HealthLabels("aida_collector_up", kind, device), now, 1);
        Sample(kind, device, HealthLabels("aida_collector_poll_duration_seconds", kind, device), now, pollDuration.TotalSeconds);
        WriteCounters(h, kind, device, now);
    }

    /// <summary>A failed poll, timeout, refused connection or exception response: the device is down until the next
    /// success.</summary>
    public void Error(string kind, string device, string problem)
    {
        var h = Health(kind, device);
        if (h.Up || Interlocked.Read(ref h.DownSinceTicks) == 0)
        {
            Interlocked.Exchange(ref h.DownSinceTicks, _clock.GetUtcNow().UtcTicks);
        }

        h.Up = false;
        Interlocked.Increment(ref h.Errors);
        var now = Now();
        Sample(kind, device, HealthLabels("aida_collector_up", kind, device), now, 0);
        WriteCounters(h, kind, device, now);
        Log(h, kind, device, problem);
    }

    /// <summary>A device that answered every poll but restarted since the one before, as its uptime says (a device behind
    /// a Modbus gateway, whose connection is the gateway's and outlives the device): it may be back at its own settings,
    /// as after an outage (<see cref="ReturnOf"/>). Counted in <c>aida_collector_restarts_total</c> and logged.</summary>
    /// <param name="pollStart">The start of the poll that found it, as its readings are stamped.</param>
    /// <param name="evidence">The readings that say so (<c>its uptime read 4 s, 10 s after it read 86400 s</c>).</param>
    public void Restarted(string kind, string device, long pollStart, string evidence)
    {
        var h = Health(kind, device);
        h.Return = h.LastRestart = DeviceReturn.Restarted(DateTimeOffset.FromUnixTimeMilliseconds(pollStart), evidence);
        var restarts = Interlocked.Increment(ref h.Restarts);
        Sample(kind, device, HealthLabels("aida_collector_restarts_total", kind, device), Now(), restarts);
        Log(h, kind, device, $"restarted since the poll before: {evidence}");
    }

    /// <summary>A request the device answered with an error (a Modbus exception response, a NUT <c>ERR</c> for one of its
    /// UPSes): counted and logged as an error, but the device answered, so it is not down. Before, it was: a device with
    /// one register it no longer serves raised <c>CollectorDown</c> ("its polls fail") while it answered every poll, and
    /// its writes were refused as to a device down.</summary>
    public void Failed(string kind, string device, string problem)
    {
        var h = Health(kind, device);
        Interlocked.Increment(ref h.Errors);
        Log(h, kind, device, problem);
    }

    /// <summary>A frame, payload or line that could not be decoded: counted and logged, never thrown.</summary>
    public void Malformed(string kind, string device, string problem)
    {
        var h = Health(kind, device);
        var malformed = Interlocked.Increment(ref h.Malformed);
        Sample(kind, device, HealthLabels("aida_collector_malformed_total", kind, device), Now(), malformed);
        Log(h, kind, device, $"malformed: {problem}");
    }

    // The counters are written again with every poll's up/down, so a count refused as a same-millisecond duplicate (two
    // bad frames in one millisecond) is caught up by the next poll.
    private void WriteCounters(DeviceHealth h, string kind, string device, long now)
    {
        var errors = Interlocked.Read(ref h.Errors);
        var malformed = Interlocked.Read(ref h.Malformed);
        if (errors > 0)
        {
            Sample(kind, device, HealthLabels("aida_collector_errors_total", kind, device), now, errors);
        }

        if (malformed > 0)
        {
            Sample(kind, device, HealthLabels("aida_collector_malformed_total", kind, device), now, malformed);
        }

        if (Interlocked.Read(ref h.Restarts) is var restarts and > 0)
        {
            Sample(kind, device, HealthLabels("aida_collector_restarts_total", kind, device), now, restarts);
        }
    }

    /// <summary>What the sink knows of one device's health.</summary>
    public (bool Up, long Errors, long Malformed) HealthOf(string kind, string device)
    {
        var h = Health(kind, device);
        return (h.Up, Interlocked.Read(ref h.Errors), Interlocked.Read(ref h.Malformed));
    }

    /// <summary>When and how the device last came back: answered again after a poll it did not answer (refused, timed
    /// out, lost, garbled), or found restarted (<see cref="Restarted"/>); at the start of the poll that found it, to the
    /// millisecond, as its readings are stamped. Null while it has answered every poll since its first and never
    /// restarted. A device back from an outage may have restarted.</summary>
    public DeviceReturn? ReturnOf(string kind, string device) => Health(kind, device).Return;

    /// <summary>Every device the collectors have reported on, by protocol and name: its health now (for the API's
    /// <c>/api/devices</c> and the dashboard).</summary>
    public IReadOnlyList<DeviceHealthView> Devices() =>
        [.. _health.OrderBy(h => h.Key.Kind, StringComparer.Ordinal).ThenBy(h => h.Key.Device, StringComparer.Ordinal)
            .Select(h => new DeviceHealthView(h.Key.Kind, h.Key.Device, h.Value.Up, Time(ref h.Value.DownSinceTicks), Time(ref h.Value.LastAnswerTicks),
                Interlocked.Read(ref h.Value.Errors), Interlocked.Read(ref h.Value.Malformed), Interlocked.Read(ref h.Value.Restarts), h.Value.Return))];

    /// <summary>Every device found restarted (<see cref="Restarted"/>) since start, with its last restart, by protocol
    /// and name: what a person on call is told (<c>AidaDeviceRestarted</c>).</summary>
    public IReadOnlyList<(string Collector, string Device, DeviceReturn Restart)> Restarts() =>
        [.. _health.Where(h => h.Value.LastRestart is not null).OrderBy(h => h.Key.Kind, StringComparer.Ordinal).ThenBy(h => h.Key.Device, StringComparer.Ordinal)
            .Select(h => (h.Key.Kind, h.Key.Device, h.Value.LastRestart!))];

    private long Now() => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private static DateTimeOffset? Time(ref long ticks) => Interlocked.Read(ref ticks) is var t and > 0 ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    private DeviceHealth Health(string kind, string device) => _health.GetOrAdd((kind, device), _ => new DeviceHealth());

    private Labels HealthLabels(string metric, string kind, string device) => Labels.Metric(metric, ("collector", kind), ("device", device));

    private Labels WithSiteLabels(Labels labels)
    {
        if (_siteLabels.Count == 0)
        {
            return labels;
        }

        var result = labels;
        for (var i = 0; i < _siteLabels.Count; i++)
        {
            if (labels.Get(_siteLabels.Name(i)) is null)
            {
                result = result.With(_siteLabels.Name(i), _siteLabels.Value(i));
            }
        }

        return result;
    }

    private void Log(DeviceHealth h, string kind, string device, string problem)
    {
        var now = _clock.GetUtcNow();
        lock (h)
        {
            if (h.LastLog is { } last && now - last < LogInterval)
            {
                h.Suppressed++;
                return;
            }

            var suppressed = h.Suppressed > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({h.Suppressed} more since the last line)") : "";
            h.LastLog = now;
            h.Suppressed = 0;
            lock (_log)
            {
                _log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{now:O} {kind} {device}: {problem}{suppressed}"));
            }
        }
    }

    private sealed class DeviceHealth
    {
        public long Errors;
        public long Malformed;

        public long Restarts;

        private volatile DeviceReturn? _return;
        private volatile DeviceReturn? _lastRestart;

        public DeviceReturn? Return { get => _return; set => _return = value; }

        public DeviceReturn? LastRestart { get => _lastRestart; set => _lastRestart = value; }

        public long DownSinceTicks; // UTC ticks since its polls fail; 0 while up

        public long LastAnswerTicks; // UTC ticks of its last answered poll; 0 before one

        public bool Up { get; set; }

        public DateTimeOffset? LastLog { get; set; }

        public long Suppressed { get; set; }
    }
}

/// <summary>One device's health as its collector reports it.</summary>
/// <param name="Collector">The protocol (<c>modbus</c>, <c>nut</c>, ...), as <c>aida_collector_up</c>'s <c>collector</c> label.</param>
/// <param name="Device">The collector's name, as the <c>device</c> label.</param>
/// <param name="Up">Whether its last poll (or message) was answered.</param>
/// <param name="DownSince">Since when its polls fail; null while up.</param>
/// <param name="LastAnswer">When it last answered a poll; null if it never has.</param>
/// <param name="LastReturn">When and how it last came back (<see cref="CollectorSink.ReturnOf"/>); null if it never did.</param>
public sealed record DeviceHealthView(string Collector, string Device, bool Up, DateTimeOffset? DownSince, DateTimeOffset? LastAnswer, long Errors, long Malformed, long Restarts, DeviceReturn? LastReturn);
