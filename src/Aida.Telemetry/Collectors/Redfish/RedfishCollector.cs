using System.Diagnostics;
using Aida.Model.Config;
using Aida.Protocols.Redfish;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Collectors.Redfish;

/// <summary>Polls a Redfish service's chassis power and thermal readings (<c>type: redfish</c>), and writes the power
/// limits its entry declares writable.</summary>
/// <remarks>
/// On (re)connect it follows the links from the service root to each chassis' <c>Power</c> and <c>Thermal</c> resources
/// (and, when the entry names leak detectors, its <c>ThermalSubsystem</c>'s <c>LeakDetectors</c>), then reads them every
/// interval. A resource that answers an HTTP error, or a body that is not JSON or not the schema's shape (counted
/// malformed), fails alone: its readings go stale, the error is counted, and the service stays up (it answered); a 404
/// has the links followed again before the next poll. A poll whose every resource failed, a timeout or a refused
/// connection fails the poll: the service is down, and the links are found again after a
/// <see cref="ReconnectBackoff"/> delay. A reading that was reported and no longer is gets a staleness marker, and so does
/// every reading when a poll fails (as Prometheus marks a failed scrape's series), so a lost service's readings read as
/// missing at once, not as their last values for the 5 min lookback. With <c>manager_uptime</c> it reads the chassis'
/// manager (BMC) too, and tells a restart between two polls it answered (<see cref="CollectorSink.Restarted"/>).
/// </remarks>
public sealed class RedfishCollector : ICollector, IActuatorSource, IDisposable
{
    public const string Type = "redfish";

    private readonly CollectorSettings _settings;
    private readonly RedfishCollectorOptions _options;
    private readonly RedfishClient _client;
    private readonly Dictionary<(string Chassis, string Kind, string Member), Labels> _labels = [];
    private HashSet<Labels> _reported = [];

    public RedfishCollector(CollectorSettings settings, RedfishCollectorOptions options, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        _settings = settings;
        _options = options;
        _client = new RedfishClient(options.Url, settings.Timeout, options.Username, options.Password, handler);
        var writers = new List<IActuatorWriter>();
        foreach (var p in options.Power ?? [])
        {
            if (p.Actuator is not null && options.Chassis is not null)
            {
                writers.Add(new RedfishPowerLimitWriter(_client, options.Chassis, p.Member, p.Actuator));
            }
        }

        if (options.PowerState is { Actuator: { } isolate } state && options.Chassis is not null)
        {
            writers.Add(new RedfishPowerStateWriter(_client, options.Chassis, isolate, state.On, state.Off));
        }

        Writers = writers;
    }

    /// <summary>Builds the collector of a site-file entry (<see cref="CollectorFactory"/>).</summary>
    public static ICollector Create(ConfigNode entry, CollectorSettings settings) => new RedfishCollector(settings, RedfishCollectorOptions.Read(entry));

    public string Name => _settings.Name;

    public string Kind => Type;

    public IReadOnlyList<IActuatorWriter> Writers { get; }

    /// <summary>The entry's protocol fields.</summary>
    public RedfishCollectorOptions Options => _options;

    public async Task RunAsync(CollectorSink sink, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var clock = _settings.Clock;
        var backoff = new ReconnectBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), _settings.Random);
        IReadOnlyList<ChassisLinks>? chassis = null;
        while (!ct.IsCancellationRequested)
        {
            var started = clock.GetTimestamp();
            TimeSpan wait;
            try
            {
                if (chassis is null)
                {
                    chassis = await RedfishChassis.FindAsync(_client, _options.Chassis, ct).ConfigureAwait(false);
                    _detectors = _options.LeakDetectors is null ? [] : await FindLeakDetectorsAsync(chassis, ct).ConfigureAwait(false);
                }

                var (relink, restarted, at) = await PollAsync(sink, chassis, ct).ConfigureAwait(false);
                if (relink)
                {
                    chassis = null;
                }

                sink.Up(Kind, Name, clock.GetElapsedTime(started));

                // After Up, which notes a return from an outage: a restart found in the same poll says more.
                if (restarted is not null)
                {
                    sink.Restarted(Kind, Name, at, restarted);
                }
                backoff.Reset();
                wait = _settings.Interval - clock.GetElapsedTime(started);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (RedfishMalformedException e)
            {
                MarkAllStale(sink); // first: whoever sees the service down finds its readings gone
                sink.Malformed(Kind, Name, e.Message);
                sink.Error(Kind, Name, e.Message);
                chassis = null;
                wait = backoff.Next();
            }
            catch (Exception e) when (e is RedfishErrorException or HttpRequestException or TaskCanceledException or IOException)
            {
                MarkAllStale(sink);
                sink.Error(Kind, Name, e is TaskCanceledException ? $"no answer within {_settings.Timeout.TotalSeconds:0.###} s" : e.Message);
                chassis = null;
                wait = backoff.Next();
            }

            try
            {
                await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, clock, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public void Dispose() => _client.Dispose();

    private void MarkAllStale(CollectorSink sink)
    {
        var now = _settings.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var labels in _reported)
        {
            sink.Stale(Kind, Name, labels, now);
        }

        _reported = [];
    }

    // Each chassis' leak detectors (by its path), found with the chassis' links.
    private Dictionary<string, IReadOnlyList<string>> _detectors = [];

    private async Task<Dictionary<string, IReadOnlyList<string>>> FindLeakDetectorsAsync(IReadOnlyList<ChassisLinks> chassis, CancellationToken ct)
    {
        var found = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var c in chassis)
        {
            found[c.Path] = c.ThermalSubsystem is null ? [] : await _client.LeakDetectorsAsync(c.ThermalSubsystem, ct).ConfigureAwait(false);
        }

        return found;
    }

    /// <summary>One poll of every chassis' resources. A resource that answers an HTTP error or a body that cannot be
    /// read fails alone: its readings go stale, the failure is counted (<see cref="CollectorSink.Failed"/>, malformed too
    /// when it is), and the service, which answered, stays up. A poll whose every resource failed throws the first
    /// failure: the service is down.</summary>
    /// <returns>Whether a resource was not found (404): the chassis' links are followed again before the next poll; the
    /// evidence of a manager's restart since the poll before (<c>manager_uptime</c>), else null; and when the readings
    /// are stamped.</returns>
    private async Task<(bool Relink, string? Restarted, long At)> PollAsync(CollectorSink sink, IReadOnlyList<ChassisLinks> chassis, CancellationToken ct)
    {
        // Read everything first, so a poll that fails halfway stores nothing rather than half a chassis.
        var readings = new List<(Labels Labels, double Value)>();
        var failures = new List<Exception>();
        var requests = 0;
        async Task<(bool Ok, T Value)> Read<T>(Func<Task<T>> read)
        {
            requests++;
            try
            {
                return (true, await read().ConfigureAwait(false));
            }
            catch (Exception e) when (e is RedfishErrorException or RedfishMalformedException)
            {
                failures.Add(e);
                return (false, default!);
            }
        }

        foreach (var c in chassis)
        {
            if (c.Power is not null && await Read(() => _client.PowerAsync(c.Power, ct)) is (true, var power))
            {
                foreach (var control in power.Controls)
                {
                    AddPower(readings, c.Id, control);
                }

                if (_options.PowerInput is { } input)
                {
                    Add(readings, c.Id, "power_input", "", input, null, power.InputLive());
                }
            }

            if (c.Thermal is not null && await Read(() => _client.ThermalAsync(c.Thermal, ct)) is (true, var sensors))
            {
                foreach (var sensor in sensors)
                {
                    AddTemperature(readings, c.Id, sensor);
                }
            }

            foreach (var path in _detectors.GetValueOrDefault(c.Path) ?? [])
            {
                var read = await Read(async () =>
                {
                    var detector = await _client.LeakDetectorAsync(path, ct).ConfigureAwait(false);
                    return (detector.Name, Leak: detector.LeakDetected(path), detector.Id);
                });
                if (read is (true, var d) && _options.LeakDetectors!.TryGetValue(d.Name, out var metric))
                {
                    Add(readings, c.Id, "leak", d.Id, metric, null, d.Leak);
                }
            }

            if (_options.PowerState is { } state && await Read(() => _client.PowerStateAsync(c.Path, ct)) is (true, var powerState))
            {
                var value = RedfishPowerStateWriter.ValueOf(powerState, state.On, state.Off);
                Add(readings, c.Id, "power_state", "", state.Metric, null, double.IsNaN(value) ? null : value);
            }
        }

        var uptimes = new List<(string Id, double Seconds)>();
        if (_options.ManagerUptime)
        {
            var polled = _settings.Clock.GetUtcNow();
            // A chassis that links no manager fails that read alone, as a resource answering garbage does.
            foreach (var c in chassis.Where(c => c.Manager is null))
            {
                requests++;
                failures.Add(new RedfishMalformedException($"{c.Path}: links no manager (Links.ManagedBy) to read the uptime of"));
            }

            foreach (var path in chassis.Select(c => c.Manager).OfType<string>().Distinct(StringComparer.Ordinal))
            {
                var read = await Read(async () =>
                {
                    var clock = await _client.ManagerClockAsync(path, ct).ConfigureAwait(false);
                    return clock.LastResetTime is null ? throw new RedfishMalformedException($"{path}: no LastResetTime to tell the manager's uptime by") : clock;
                });
                if (read is (true, var m))
                {
                    var uptime = ((m.DateTime ?? polled) - m.LastResetTime!.Value).TotalSeconds;
                    readings.Add((ManagerLabels(m.Id), uptime));
                    uptimes.Add((m.Id, uptime));
                }
            }
        }

        if (failures.Count > 0 && failures.Count == requests)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failures[0]);
        }

        var now = _settings.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        string? restarted = null;
        foreach (var (id, seconds) in uptimes)
        {
            if (!_managerUptimes.TryGetValue(id, out var watch))
            {
                _managerUptimes[id] = watch = new UptimeWatch(ManagerUptimeResolution, $"its manager {id}'s uptime");
            }

            if (watch.Read(now, seconds) is { } evidence)
            {
                restarted = restarted is null ? evidence : $"{restarted}; {evidence}";
            }
        }

        var reported = new HashSet<Labels>();
        foreach (var (labels, value) in readings)
        {
            sink.Sample(Kind, Name, labels, now, value);
            reported.Add(labels);
        }

        foreach (var gone in _reported)
        {
            if (!reported.Contains(gone))
            {
                sink.Stale(Kind, Name, gone, now);
            }
        }

        _reported = reported;
        foreach (var failure in failures)
        {
            if (failure is RedfishMalformedException)
            {
                sink.Malformed(Kind, Name, failure.Message);
            }

            sink.Failed(Kind, Name, failure.Message);
        }

        return (failures.Exists(f => f is RedfishErrorException { Status: System.Net.HttpStatusCode.NotFound }), restarted, now);
    }

    /// <summary>The step of a manager's uptime: Redfish date-times are commonly given to the second.</summary>
    private const double ManagerUptimeResolution = 1;

    // Each manager's uptime judge, by its Id: kept across reconnects, so a BMC that restarted during an outage is said so.
    private readonly Dictionary<string, UptimeWatch> _managerUptimes = new(StringComparer.Ordinal);

    private Labels ManagerLabels(string id)
    {
        if (!_labels.TryGetValue(("", "manager_uptime", id), out var labels))
        {
            labels = _settings.Labels.With(Labels.MetricNameLabel, RedfishCollectorOptions.ManagerUptimeMetric).With("manager", id);
            _labels[("", "manager_uptime", id)] = labels;
        }

        return labels;
    }

    private void AddPower(List<(Labels, double)> readings, string chassis, PowerControlReading control)
    {
        if (_options.Power is null)
        {
            Add(readings, chassis, "consumed", control.MemberId, RedfishCollectorOptions.DefaultConsumedMetric, ("power_control", control.MemberId), control.ConsumedWatts);
            Add(readings, chassis, "limit", control.MemberId, RedfishCollectorOptions.DefaultLimitMetric, ("power_control", control.MemberId), control.LimitInWatts);
            return;
        }

        foreach (var mapping in _options.Power)
        {
            if (mapping.Member != control.MemberId)
            {
                continue;
            }

            if (mapping.Consumed is not null)
            {
                Add(readings, chassis, "consumed", control.MemberId, mapping.Consumed, null, control.ConsumedWatts);
            }

            if (mapping.Limit is not null)
            {
                Add(readings, chassis, "limit", control.MemberId, mapping.Limit, null, control.LimitInWatts);
            }
        }
    }

    private void AddTemperature(List<(Labels, double)> readings, string chassis, TemperatureReading sensor)
    {
        if (_options.Temperatures is null)
        {
            Add(readings, chassis, "temperature", sensor.Name, RedfishCollectorOptions.DefaultTemperatureMetric, ("sensor", sensor.Name), sensor.ReadingCelsius);
        }
        else if (_options.Temperatures.TryGetValue(sensor.Name, out var metric))
        {
            Add(readings, chassis, "temperature", sensor.Name, metric, null, sensor.ReadingCelsius);
        }
    }

    private void Add(List<(Labels, double)> readings, string chassis, string kind, string member, string metric, (string Name, string Value)? own, double? value)
    {
        if (value is not { } v)
        {
            return;
        }

        if (!_labels.TryGetValue((chassis, kind, member), out var labels))
        {
            labels = _settings.Labels.With(Labels.MetricNameLabel, metric);
            if (own is { } o)
            {
                labels = labels.With(o.Name, o.Value);
            }

            if (_options.Chassis is null)
            {
                labels = labels.With("chassis", chassis);
            }

            _labels[(chassis, kind, member)] = labels;
        }

        readings.Add((labels, v));
    }
}

/// <summary>Finds chassis by following the service's links.</summary>
internal static class RedfishChassis
{
    /// <summary>The chassis with <c>Id</c> <paramref name="id"/>, or every chassis when null.</summary>
    public static async Task<IReadOnlyList<ChassisLinks>> FindAsync(RedfishClient client, string? id, CancellationToken ct)
    {
        var found = new List<ChassisLinks>();
        foreach (var path in await client.ChassisAsync(ct).ConfigureAwait(false))
        {
            // A member's path ends with its Id in every service seen; the Id read from the resource decides.
            if (id is not null && !path.TrimEnd('/').EndsWith("/" + id, StringComparison.Ordinal))
            {
                continue;
            }

            var links = await client.ChassisLinksAsync(path, ct).ConfigureAwait(false);
            if (id is null || links.Id == id)
            {
                found.Add(links);
            }
        }

        if (id is not null && found.Count == 0)
        {
            throw new RedfishErrorException(System.Net.HttpStatusCode.NotFound, $"the service has no chassis '{id}'");
        }

        return found;
    }
}
