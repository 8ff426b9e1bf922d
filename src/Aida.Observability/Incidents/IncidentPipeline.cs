using Aida.Model.Facility;
using Aida.Model.Scenarios;
using Aida.Model.Topology;
using Aida.Observability.Detection;
using Aida.Observability.RootCause;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Observability.Incidents;

/// <summary>The live path from telemetry to incidents: on each step, the alerts since the last step
/// (<see cref="TelemetryAlerting"/>), folded one by one into incidents by topology and time (<see cref="IncidentFold"/>),
/// stored with their timeline (<see cref="IncidentStore"/>), and each incident that grew analysed again for its root
/// cause (<see cref="RootCauseAnalyzer"/>). Alerts from elsewhere (SLO burn-rate alerts) join through
/// <see cref="Add"/>. Deterministic: time is the caller's.</summary>
public sealed class IncidentPipeline
{
    private readonly TelemetryAlerting _alerting;
    private readonly RootCauseAnalyzer _analyzer;
    private readonly IncidentStore _store;
    private readonly IncidentFold _fold;
    private readonly EquipmentAlarmWatch _equipment;
    private readonly Dictionary<int, long> _stored = [];
    private readonly Dictionary<long, int> _groupOf = [];
    private readonly HashSet<int> _grown = [];
    private readonly HashSet<string> _equipmentAlarmNames;
    private readonly HashSet<(long Incident, string Asset)> _equipmentReported = [];
    // Alerts folded but not yet stored, oldest first: the store's disk refused them (full, an I/O error). Stored first,
    // in order, at the next step; their incidents' root causes wait in _grown until then.
    private readonly List<(int Number, bool Opened, Alert Alert)> _unstored = [];
    private DateTimeOffset _last;

    public IncidentPipeline(IQueryEngine query, Factory factory, IncidentStore store, DateTimeOffset start, AlertingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _alerting = new TelemetryAlerting(query, factory, options);
        _equipment = new EquipmentAlarmWatch(query, options);
        _equipmentAlarmNames = [.. EquipmentAlarm.Of(options ?? new AlertingOptions()).Select(a => a.Name)];
        _analyzer = new RootCauseAnalyzer(factory);
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _fold = new IncidentGrouper(TopologyGraph.Build(factory)).Begin();
        _last = start;
    }

    /// <summary>The latest root cause of each stored incident (by its id in the store), and when the incident opened.</summary>
    public IReadOnlyDictionary<long, (DateTimeOffset Opened, RootCauseFinding Finding)> Findings => _findings;

    private readonly Dictionary<long, (DateTimeOffset Opened, RootCauseFinding Finding)> _findings = [];

    /// <summary>Alerts folded so far.</summary>
    public int Alerts { get; private set; }

    /// <summary>Incidents opened so far.</summary>
    public int Incidents => _stored.Count;

    /// <summary>Folds one alert that did not come from telemetry detection (an SLO burn-rate alert).</summary>
    public void Add(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var placed = _fold.Add(alert);
        Alerts++;
        _grown.Add(placed.Number);
        _unstored.Add((placed.Number, placed.Opened, alert));
        StoreFolded();
    }

    /// <summary>Alerts folded but not stored yet, and why: the store's disk refused them (<see cref="StepAsync"/> stores
    /// them first, in order, once it takes them). Their incidents get no root cause, so no runbook, until then.</summary>
    public (int Alerts, string? Why) Unstored => (_unstored.Count, _unstoredWhy);

    private string? _unstoredWhy;

    /// <summary>Stores the folded alerts not yet stored, oldest first, stopping at the first the store's disk refuses.</summary>
    private bool StoreFolded()
    {
        while (_unstored.Count > 0)
        {
            var (number, opened, alert) = _unstored[0];
            try
            {
                // An incident someone resolved while its group was still open to alerts (the condition came back within
                // the quiet period) takes no more: the group goes on in a new stored incident, which later alerts join.
                if (opened || !_stored.TryGetValue(number, out var id) || !_store.TryFold(id, alert))
                {
                    _stored[number] = _store.Open(alert);
                    _groupOf[_stored[number]] = number;
                }
            }
            catch (Microsoft.Data.Sqlite.SqliteException e) when (IncidentStore.IsDiskRefusal(e))
            {
                _unstoredWhy = e.Message;
                return false;
            }

            if (_equipmentAlarmNames.Contains(alert.Name))
            {
                _equipmentReported.Add((_stored[number], alert.Asset));
            }

            _unstored.RemoveAt(0);
        }

        _unstoredWhy = null;
        return true;
    }

    /// <summary>Whether the stored incident <paramref name="incident"/> takes no more alerts of its group after
    /// <paramref name="now"/>: its last alert is older than the grouping window and than the recurrence within which an
    /// SLO burn-rate alert reopens it (2 h), so a later alert starts a new group. An incident resolved before that would
    /// pass its group's next alert to a new stored incident, analysed with the whole group, naming the same cause again.
    /// True for an incident this pipeline did not open.</summary>
    public bool IsQuiet(long incident, DateTimeOffset now) =>
        !_groupOf.TryGetValue(incident, out var number) || _stored[number] != incident || now > _fold.ClosedAfter(number);

    /// <summary>Whether the stored incident <paramref name="incident"/> holds an alarm the equipment
    /// <paramref name="asset"/> raised itself (<see cref="EquipmentAlarm"/>: a fault flag, a leak sensor, a valve
    /// actuator), as against symptoms the detection rules inferred from its readings.</summary>
    public bool EquipmentReported(long incident, string asset) => _equipmentReported.Contains((incident, asset));

    /// <summary>The alerts of stored incident <paramref name="incident"/> so far (empty for one this pipeline neither
    /// opened nor <see cref="Adopt">adopted</see>).</summary>
    public IReadOnlyList<Alert> AlertsOf(long incident) =>
        _groupOf.TryGetValue(incident, out var number) ? _fold.Incidents.First(g => g.Number == number).Alerts
        : _adopted.GetValueOrDefault(incident) ?? [];

    /// <summary>Takes stored incident <paramref name="incident"/>, opened before this pipeline (by a run that stopped), as
    /// known: its stored alerts are its <see cref="AlertsOf"/>, so the readings a sensor fault of it named
    /// (<see cref="SensorReadings"/>) are known again after a restart. It takes no new alerts (those open or join the
    /// pipeline's own incidents) and is <see cref="IsQuiet">quiet</see>.</summary>
    /// <exception cref="KeyNotFoundException">No incident has that id.</exception>
    public void Adopt(long incident) => _adopted[incident] = _store.Alerts(incident);

    private readonly Dictionary<long, IReadOnlyList<Alert>> _adopted = [];

    /// <summary>The readings a sensor fault of stored incidents <paramref name="incidents"/> (one, and those attached to it)
    /// on <paramref name="asset"/> is known by: the series of their stuck, dropped-out and scattering alerts there and,
    /// for a drift, of their supply-off-setpoint alerts there (the root cause names the supply reading drifting only with
    /// one). A drift found by the energy balance alone names none: supply, return or flow. Empty for incidents this
    /// pipeline did not open.</summary>
    public IReadOnlyList<Labels> SensorReadings(IReadOnlyCollection<long> incidents, string asset, string faultKind) =>
        [.. SensorAlerts(incidents, asset, faultKind).Select(a => a.Series!).Distinct()];

    /// <summary>Each reading of <see cref="SensorReadings"/> with the time of the first alert that named it.</summary>
    public IReadOnlyList<(Labels Series, DateTimeOffset Since)> SensorReadingsSince(IReadOnlyCollection<long> incidents, string asset, string faultKind) =>
        [.. SensorAlerts(incidents, asset, faultKind).GroupBy(a => a.Series!).Select(g => (g.Key, g.Min(a => a.At)))];

    private IEnumerable<Alert> SensorAlerts(IReadOnlyCollection<long> incidents, string asset, string faultKind)
    {
        var drift = faultKind == FaultCatalog.Of(FaultKind.SensorDrift).Name;
        return incidents.SelectMany(AlertsOf).Where(a => a.Asset == asset && a.Series is not null
            && (a.Name is AlertNames.SensorStuck or AlertNames.SensorDropout or AlertNames.SensorNoise || (drift && a.Name == AlertNames.CduSupplyOffSetpoint)));
    }

    /// <summary>Why the readings a sensor fault of stored incidents <paramref name="incidents"/> (one, and those attached to
    /// it) on <paramref name="asset"/> is known by are not to be trusted again at <paramref name="now"/>; null
    /// when every one has behaved for <paramref name="probation"/>: no alert of the incident has named it for that long,
    /// and over that time it shows it behaves (<see cref="TelemetryAlerting.StillLyingAsync"/>: present, not frozen, its
    /// scatter back at its usual level). A frozen, missing or scattering reading can come back by itself (a transmitter or
    /// its link restarted, interference gone) and shows it when it does. A drift cannot be judged so, and is left for a
    /// person to resolve (the sensor recalibrated): a drifting CDU supply reads high, the CDU's controller opens its valve
    /// fully on it, and a supply with its valve fully open is not judged against its setpoint. Read as behaving 4.5 h into
    /// faults/sensor-drift (9 K off), the supply went back to the optimiser, and 11 min later the CDU was taken for a stuck
    /// valve and its jobs moved (training goodput 98.89 % against 99.5 %). Ask it after <see cref="StepAsync"/> has run
    /// up to <paramref name="now"/>.</summary>
    public async Task<string?> SensorStillLyingAsync(IReadOnlyCollection<long> incidents, string asset, string faultKind, DateTimeOffset now, TimeSpan probation, CancellationToken cancellationToken = default)
    {
        if (faultKind == FaultCatalog.Of(FaultKind.SensorDrift).Name)
        {
            return "a drift is not judged on its readings: recalibrate the sensor, then resolve the incident";
        }

        var alerts = SensorAlerts(incidents, asset, faultKind).ToList();
        if (alerts.Count == 0)
        {
            return "no reading named by its alerts to watch";
        }

        foreach (var reading in alerts.GroupBy(a => a.Series!))
        {
            var last = reading.Max(a => a.At);
            if (now - last < probation)
            {
                return $"{reading.Key.MetricName} alerted at {last:HH:mm:ss}";
            }

            if (await _alerting.StillLyingAsync(reading.Key, now - probation, now, cancellationToken) is { } why)
            {
                return $"{reading.Key.MetricName}: {why}";
            }
        }

        return null;
    }

    /// <summary>Why the telemetry lost in <paramref name="incidents"/> is not back yet: a device their
    /// <see cref="AlertNames.CollectorDown"/> alerts name that has not answered every poll of the last
    /// <paramref name="hold"/>, or an alert within it; null once every one has.</summary>
    public async Task<string?> TelemetryStillLostAsync(IReadOnlyCollection<long> incidents, DateTimeOffset now, TimeSpan hold, CancellationToken cancellationToken = default)
    {
        var down = incidents.SelectMany(AlertsOf).Where(a => a.Name == AlertNames.CollectorDown && a.Series is not null).ToList();
        if (down.Count == 0)
        {
            return "no device named by its alerts to watch";
        }

        if (down.Max(a => a.At) is var last && now - last < hold)
        {
            return $"a device went down at {last:HH:mm:ss}";
        }

        var devices = down.Select(a => (a.Series!.Get("collector") ?? "?", a.Series.Get("device") ?? "?")).ToHashSet();
        var silent = await _alerting.DevicesNotAnsweringAsync(devices, now - hold, now, cancellationToken);
        return silent.Count == 0 ? null : $"{silent.Count} of {devices.Count} devices not answering ({string.Join(", ", silent.Select(d => d.Device).Order(StringComparer.Ordinal).Take(5))}{(silent.Count > 5 ? ", ..." : "")})";
    }

    /// <summary>The supply reading of CDU <paramref name="cdu"/> when it reads apart from its hall's others with every valve
    /// fully open (<see cref="TelemetryAlerting.SupplyApartFromPeersAsync"/>): the reading a drift found by the energy
    /// balance alone is known by, before the supply leaves its setpoint band and its alert names it.</summary>
    public Task<(Labels Series, string Evidence)?> SupplyApartFromPeersAsync(string cdu, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        _alerting.SupplyApartFromPeersAsync(cdu, now, cancellationToken);

    /// <summary>Whether equipment raised an alarm (<see cref="EquipmentAlarm"/>) since the last time this was asked, read at
    /// <paramref name="now"/> alone: cheap enough to ask between steps, so a caller can step at once when one is raised.</summary>
    public Task<bool> EquipmentAlarmRaisedAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        _equipment.RaisedSinceLastLookAsync(now, cancellationToken);

    /// <summary>Detects the alerts in (last step, <paramref name="now"/>], folds and stores them, and attaches a fresh
    /// root cause to every incident that grew.</summary>
    /// <returns>How many alerts were folded.</returns>
    public async Task<int> StepAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        if (now <= _last)
        {
            return 0;
        }

        var alerts = await _alerting.DetectAsync(_last, now, cancellationToken);
        _last = now;
        foreach (var alert in alerts)
        {
            Add(alert);
        }

        if (!StoreFolded())
        {
            // The store's disk refuses: the root causes wait with their alerts for the next step.
            return alerts.Count;
        }

        var incidents = _fold.Incidents;
        foreach (var number in _grown.ToList())
        {
            var group = incidents.First(g => g.Number == number);
            var finding = _analyzer.Analyze(group);
            try
            {
                _store.AttachRootCause(_stored[number], finding);
            }
            catch (Microsoft.Data.Sqlite.SqliteException e) when (IncidentStore.IsDiskRefusal(e))
            {
                _unstoredWhy = e.Message;
                return alerts.Count;
            }

            _findings[_stored[number]] = (group.Opened, finding);
            _grown.Remove(number);
        }

        return alerts.Count;
    }
}
