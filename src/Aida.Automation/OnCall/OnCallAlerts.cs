using System.Globalization;
using Aida.Automation.Actions;
using Aida.Automation.Agents;
using Aida.Automation.Safety;
using Aida.Observability.Derived;
using Aida.Observability.Incidents;
using Aida.Reliability.Alerting;

namespace Aida.Automation.OnCall;

/// <summary>What a person on call must know now, as alerts for Alertmanager (<see cref="AlertmanagerFeed"/>): every
/// incident not resolved (<c>AidaIncident</c>), every action waiting for an approver (<c>AidaApprovalNeeded</c>), every
/// runbook waiting for a go-ahead (<c>AidaRunbookApproval</c>), every actuator whose read-back disputes Aida's write
/// (<c>AidaActuatorDisputed</c>), what runbooks' notify steps said (<c>AidaRunbookNotice</c>), that the agent runs
/// dry and writes nothing (<c>AidaAgentDryRun</c>), a device found restarted between two polls
/// (<c>AidaDeviceRestarted</c>, <see cref="DeviceRestarts"/>), every asset a person has locked out
/// (<c>AidaAssetLockedOut</c>), a lockout about to end by itself (<c>AidaLockoutEnding</c>) or a planned one about to
/// start (<c>AidaLockoutStarting</c>), a group of units left with none to spare (<c>AidaRedundancyLost</c>,
/// <see cref="ReadCapacityAsync"/>), what the run cannot write to its disk (<c>AidaDataNotWritten</c>,
/// <see cref="DataNotWritten"/>), and the SLO burn-rate alerts firing (<see cref="SloAlerts"/>).</summary>
/// <remarks>Each alert carries <c>factory</c> and <c>severity</c> (<c>critical</c> where a person must act soon: an approval
/// with a deadline, a high-risk action, a rollback's notice; an incident's as its alerts say; a notice's as its step
/// says, else a restore's <c>info</c>, else its incident's; <c>warning</c> for a dispute; <c>info</c> for a lockout, but
/// <c>warning</c> for one about to start that leaves its group short of the day's peak load), an id
/// label that makes it one alert for as long as it holds, an <c>asset</c> label where it concerns one asset (an incident's
/// root-cause asset, else the asset most of its alerts name, as first posted; a runbook's, an action's, a disputed actuator's), so that an
/// Alertmanager inhibit rule (<c>equal: [factory, asset]</c>) keeps quiet what a lockout explains, a <c>summary</c>, and a link to the
/// dashboard page to act on it when the dashboard's address is known. A notice holds while its incident is not
/// resolved, and at least <see cref="NoticeHold"/> of plant time. Read it holding the lock the plant is stepped under:
/// it reads the agent's runs, the executors' records and the guard's read-backs.</remarks>
public sealed class OnCallAlerts
{
    private readonly string _factory;
    private readonly IncidentStore? _incidents;
    private readonly IReadOnlyList<ActionExecutor> _executors;
    private readonly PlantAgent? _agent;
    private readonly GuardedPlant? _guard;
    private readonly string? _dashboard;
    private readonly TimeProvider _clock;

    /// <param name="factory">The site's name: the <c>factory</c> label, so one Alertmanager can route several sites.</param>
    /// <param name="executors">Every executor whose actions may wait for an approver (the agent's, the API's).</param>
    /// <param name="guard">The guard whose disputes are shown, or null.</param>
    /// <param name="dashboard">The dashboard's address (<c>http://127.0.0.1:8080/</c>), or null for no links.</param>
    /// <param name="clock">The plant's clock (a notice's hold counts in plant time).</param>
    public OnCallAlerts(string factory, IncidentStore? incidents, IReadOnlyList<ActionExecutor> executors, PlantAgent? agent, GuardedPlant? guard, Uri? dashboard, TimeProvider clock)
    {
        _factory = factory;
        _incidents = incidents;
        _executors = executors;
        _agent = agent;
        _guard = guard;
        _dashboard = dashboard?.ToString();
        _clock = clock;
    }

    /// <summary>The SLO burn-rate alerts firing now (the run's live SLO alerts), posted as Aida's exported alerting rules
    /// name them (<c>SLOBurnRatePage</c>, <c>SLOBurnRateTicket</c>, labels <c>slo</c>, <c>service</c>,
    /// <c>severity</c>, <c>condition</c>), so either source lands in Alertmanager the same way; null for none.</summary>
    public Func<IReadOnlyList<SloAlert>>? SloAlerts { get; init; }

    /// <summary>The devices found restarted between two polls they answered (a controller behind a gateway, a UPS
    /// behind upsd: no outage told of it), each with its last restart; each is told for <see cref="NoticeHold"/> after
    /// it. Null for none (the embedded twin).</summary>
    public Func<IReadOnlyList<(string Collector, string Device, Aida.Model.Plant.DeviceReturn Restart)>>? DeviceRestarts { get; init; }

    /// <summary>The one asset a device (collector kind, entry name) writes, or null: its restart alert then carries that
    /// <c>asset</c>, so a controller power-cycled by a technician under lockout is kept quiet as the asset's other pages
    /// are. Null for none.</summary>
    public Func<string, string, string?>? DeviceAsset { get; init; }

    /// <summary>What the run cannot write to its data directory's disk now, one line each (the telemetry WAL, the audit
    /// log, the incident store, a kept file), told by <c>AidaDataNotWritten</c>; null: not told.</summary>
    public Func<IReadOnlyList<string>>? DataNotWritten { get; init; }

    /// <summary>Works out what a planned lockout's group would have left (<see cref="ReadCapacityAsync"/>), told by
    /// <c>AidaLockoutStarting</c>; null: not told.</summary>
    public SpareCapacity? Capacity { get; init; }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Lockout, SpareCapacityReading?> _capacity = new();
    // Each group that lost its spare: since when, its last reading at N or short, and since when it has been back.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Kind, string Scope), (DateTimeOffset Since, RedundancyReading Last, DateTimeOffset? Back)> _lost = new();

    /// <summary>How long a group must stay at N or short, read after read, before <c>AidaRedundancyLost</c> tells it, and
    /// back with a unit to spare before it stops (5 min of plant time each way): a unit's restart or a load at the
    /// group's threshold for a moment is not a page, nor a page that clears and fires again.</summary>
    public static readonly TimeSpan RedundancyHold = TimeSpan.FromMinutes(5);

    /// <summary>Reads each group's redundancy now, the lockouts held counted out (told by <c>AidaRedundancyLost</c>
    /// when a group is at N or short), and what the group of each lockout about to start (within
    /// <see cref="LockoutStartingNotice"/>) would have left with it and the other lockouts over its window out, against
    /// the last 24 h's peak load (told by <c>AidaLockoutStarting</c>, a <c>warning</c> when short of that peak). Call it
    /// outside the plant's lock, before <see cref="Now"/>: it queries the telemetry.</summary>
    public async Task ReadCapacityAsync(CancellationToken cancellationToken = default)
    {
        if (Capacity is null)
        {
            return;
        }

        var now = _clock.GetUtcNow();
        // A group another makes up for (the economiser, whose shortfall the chillers carry; every hot afternoon for dry
        // coolers) costs energy, not cooling: not a page.
        foreach (var reading in (await Capacity.NowAsync(now, _guard?.Lockouts.Held.ToDictionary(l => l.Asset, _ => "locked out", StringComparer.Ordinal), cancellationToken)).Where(r => r.MadeUpBy is null))
        {
            var key = (reading.Kind, reading.Scope);
            var known = _lost.TryGetValue(key, out var was);
            if (reading.Spare < 1)
            {
                _lost[key] = (known ? was.Since : now, reading, null);
            }
            else if (known && reading.Spare is not null)
            {
                // Back with a unit to spare: forgotten at once if it was never told, else once back for the hold.
                var told = now - was.Since >= RedundancyHold;
                var back = was.Back ?? now;
                if (!told || now - back >= RedundancyHold)
                {
                    _lost.TryRemove(key, out _);
                }
                else
                {
                    _lost[key] = was with { Back = back };
                }
            }
        }
        if (_guard is null)
        {
            return;
        }

        var starting = _guard.Lockouts.Planned.Where(l => l.Since - now <= LockoutStartingNotice).ToList();
        foreach (var gone in _capacity.Keys.Except(starting).ToList())
        {
            _capacity.TryRemove(gone, out _);
        }

        foreach (var lockout in starting)
        {
            _capacity[lockout] = await Capacity.WithoutAsync(lockout.Asset, now, _guard.Lockouts.OthersOutOver(lockout.Asset, lockout.Since, lockout.Until), cancellationToken);
        }
    }

    /// <summary>How long before a lockout ends by itself <c>AidaLockoutEnding</c> tells its holder, who may still be at
    /// work on the asset.</summary>
    public static readonly TimeSpan LockoutEndingNotice = TimeSpan.FromMinutes(15);

    /// <summary>How long before a planned lockout starts <c>AidaLockoutStarting</c> tells on-call what it will take from
    /// the agent.</summary>
    public static readonly TimeSpan LockoutStartingNotice = TimeSpan.FromMinutes(15);

    /// <summary>How long a notice holds at least once said, when its incident is resolved (or unknown).</summary>
    public static readonly TimeSpan NoticeHold = TimeSpan.FromMinutes(15);

    /// <summary>The alerts that hold now.</summary>
    public IReadOnlyList<FiringAlert> Now()
    {
        var alerts = new List<FiringAlert>();
        var open = (_incidents?.List() ?? []).Where(i => i.State != IncidentState.Resolved).ToDictionary(i => i.Id);
        foreach (var gone in _causes.Keys.Where(id => !open.ContainsKey(id)).ToList())
        {
            _causes.Remove(gone);
        }

        foreach (var incident in open.Values.OrderBy(i => i.Id))
        {
            alerts.Add(Incident(incident));
        }

        foreach (var executor in _executors)
        {
            foreach (var record in executor.Pending)
            {
                alerts.Add(Approval(record, executor.ApprovalTimeout));
            }
        }

        foreach (var response in _agent?.WaitingForApproval ?? [])
        {
            alerts.Add(Alert("AidaRunbookApproval", [new("incident", Id(response.Incident)), new("runbook", response.Runbook), new("asset", response.Asset)], "critical",
                $"runbook {response.Runbook} for incident {response.Incident} ({response.FaultKind} on {response.Asset}) waits for an approver's go-ahead until {Stamp(response.Run.WaitingUntil!.Value)}",
                $"approve or reject it on the dashboard's Agent page or with POST /api/runbook-runs/{response.Incident}/approve|reject",
                "#agent"));
        }

        foreach (var (actuator, written, readBack, readAt) in _guard?.Disputes() ?? [])
        {
            var onOff = _guard!.IsOnOff(actuator);
            var lockout = _guard.Lockouts.Of(actuator);
            alerts.Add(Alert("AidaActuatorDisputed", [new("actuator", actuator), new("asset", Lockouts.AssetOf(actuator))], "warning",
                $"{actuator} reads back {Number(readBack)} where Aida wrote {Number(written)} (read at {Stamp(readAt)}): {(onOff ? "switched" : "moved")} behind Aida's back, or a read-back that lies"
                    + (lockout is null ? "" : $"; {lockout.Describe()}"),
                onOff
                    ? "the interlocks count what the plant reports; a person settles it: adopt the read-back (switched on purpose) or dismiss it (it lies) on the dashboard's Agent page or with POST /api/actuators/adopt|dismiss"
                    : "its steps count from both values until a person settles it: adopt the read-back (it moved on purpose) or dismiss it (it lies) on the dashboard's Agent page or with POST /api/actuators/adopt|dismiss",
                "#agent"));
        }

        if (_agent is { Mode: AutomationMode.DryRun } dry)
        {
            var change = dry.LastModeChange;
            alerts.Add(Alert("AidaAgentDryRun", [], "warning",
                "the agent runs dry: it proposes and audits, and writes nothing; the plant is on its own and its people",
                change is null ? "started so (--dry-run)" : $"since {Stamp(change.At)}, set by {change.By}: {change.Reason}; an admin hands it the controls back with POST /api/agent/mode",
                "#agent"));
        }

        if (DataNotWritten?.Invoke() is { Count: > 0 } unwritten)
        {
            alerts.Add(Alert("AidaDataNotWritten", [], "critical",
                "Aida cannot write to its data directory's disk: it goes on operating the plant, and holds what it cannot write in memory, lost if it stops before the disk takes it",
                string.Join("; ", unwritten) + ". Free space on the data directory's disk (df); Aida writes what it holds as soon as it can, and says so on its stderr",
                "#"));
        }

        foreach (var slo in SloAlerts?.Invoke() ?? [])
        {
            var posted = AlertmanagerAlert.From(slo);
            alerts.Add(new FiringAlert([posted.Labels[0], new("factory", _factory), .. posted.Labels.Skip(1)],
                [.. posted.Annotations, new("description", slo.NoData
                    ? $"no events in the {Aida.Reliability.OpenSlo.SliQueries.FormatDuration(slo.Condition.ShortWindow)} before {Stamp(slo.StartsAt)} (plant time), nor since: a collector, its scrape or the path to the store is down, or the readings are all left out; the minutes without events count neither way in the budget"
                    : slo.Worst is { } worst ? $"burning most: {worst}" : "over the whole SLI")],
                _dashboard is null ? null : _dashboard + "#budgets") { Since = slo.StartsAt });
        }

        var now = _clock.GetUtcNow();
        foreach (var (collector, device, restart) in DeviceRestarts?.Invoke() ?? [])
        {
            if (now - restart.At >= NoticeHold)
            {
                continue;
            }

            var asset = DeviceAsset?.Invoke(collector, device);
            alerts.Add(Alert("AidaDeviceRestarted", asset is null ? [new("collector", collector), new("device", device)] : [new("collector", collector), new("device", device), new("asset", asset)], "warning",
                $"{collector} device {device} {restart.How}: it may be back at its own settings",
                "the safety guard writes its settings again only once they read back, and takes them to be where they read; find why it restarted (its power, firmware, a watchdog)",
                "#agent", restart.At));
        }

        // A group at N has no unit to spare: one more out and its load is not carried; short, it is not now.
        foreach (var (since, group, back) in _lost.Values.Where(l => now - l.Since >= RedundancyHold).OrderBy(l => l.Last.Kind, StringComparer.Ordinal).ThenBy(l => l.Last.Scope, StringComparer.Ordinal))
        {
            alerts.Add(Alert("AidaRedundancyLost", [new("kind", group.Kind), new("scope", group.Scope)], group.Spare < 0 ? "critical" : "warning",
                group.Describe() + (back is { } b ? $"; back with a unit to spare since {Stamp(b)}, told until that has held {RedundancyHold.TotalMinutes:0} min" : ""),
                group.Spare < 0
                    ? "the units in service do not carry the load now: bring a unit back (a standby started, a lockout's work stopped) or move, cap or shed the load"
                    : "no unit of the group may trip or be taken out without the load going uncarried: hold off planned work on its units, and have a unit ready to come back",
                "#flow", since));
        }

        foreach (var lockout in _guard?.Lockouts.Held ?? [])
        {
            alerts.Add(Alert("AidaAssetLockedOut", [new("asset", lockout.Asset)], "info",
                lockout.Describe(),
                $"Aida writes none of its actuators until then, whoever asks; alerts on it with the same factory and asset are its work's, which an inhibit rule keeps quiet; {lockout.By} or an approver releases it on the dashboard's Agent page or with POST /api/lockouts/{lockout.Asset}/release",
                "#agent", lockout.Since));
            if (lockout.Until is { } end && end - now <= LockoutEndingNotice)
            {
                alerts.Add(Alert("AidaLockoutEnding", [new("asset", lockout.Asset)], "warning",
                    $"{lockout.Asset}'s lockout by {lockout.By} ends by itself at {Stamp(end)} ({lockout.Reason}): Aida may write it again then",
                    $"if the work goes on, {lockout.By} or an approver moves its end (Set end on the dashboard's Agent page, POST /api/lockouts/{lockout.Asset}/extend, or aida lockouts extend); else nothing to do",
                    "#agent", end - LockoutEndingNotice));
            }
        }

        // The soonest of each asset: its next would start only after it ends.
        foreach (var planned in (_guard?.Lockouts.Planned ?? []).DistinctBy(l => l.Asset))
        {
            if (planned.Since - now <= LockoutStartingNotice)
            {
                var refused = _agent?.LockoutImpact(planned.Asset) ?? [];
                var capacity = _capacity.GetValueOrDefault(planned);
                var steps = refused.Count == 0 ? "no runbook step of the agent writes it"
                    : $"while it is held these runbook steps are refused, and their run rolls back to a person: {string.Join("; ", refused)}";
                // Short of what the chillers make up (the economiser's) costs energy, not cooling: not a warning.
                var uncarried = capacity is { Verdict: "short", MadeUpBy: null };
                var act = uncarried
                    ? $"before it starts make up the shortfall (a unit back from its work, the load moved or capped) or put the work off: {planned.By} or an approver moves its start (POST /api/lockouts/{planned.Asset}/reschedule)"
                    : refused.Count == 0 ? "nothing to do"
                    : $"if the work is not on, {planned.By} or an approver calls it off (POST /api/lockouts/{planned.Asset}/release)";
                alerts.Add(Alert("AidaLockoutStarting", [new("asset", planned.Asset)], uncarried ? "warning" : "info",
                    $"{planned.DescribePlanned()}: Aida writes none of its actuators from then",
                    $"{steps}{(capacity is null ? "" : $"; capacity: {capacity.Describe()}")}; {act}",
                    "#agent", planned.Since - LockoutStartingNotice));
            }
        }

        foreach (var response in _agent?.Responses ?? [])
        {
            var incident = open.GetValueOrDefault(response.Incident);
            foreach (var notice in response.Run.Notices)
            {
                if (incident is null && now - notice.At >= NoticeHold)
                {
                    continue;
                }

                alerts.Add(Alert("AidaRunbookNotice", [new("incident", Id(response.Incident)), new("runbook", response.Runbook), new("line", Id(notice.Line)), new("asset", response.Asset)],
                    notice.Severity ?? incident?.Severity ?? "warning", notice.Message,
                    $"said by runbook {response.Runbook} (line {notice.Line}) for incident {response.Incident} at {Stamp(notice.At)}",
                    $"#incidents/{response.Incident}", notice.At));
            }
        }

        return alerts;
    }

    // Each open incident's root cause as of its last update: read again only when the incident changed, so that looking
    // once a second under the plant's lock costs one list of the incidents, not a read of each one (an alarm storm).
    // Each also keeps the asset its alert was first posted with: the asset label is part of the alert's identity in
    // Alertmanager, so a cause named later, or a new top cause, does not make it a second page.
    private readonly Dictionary<long, (DateTimeOffset Updated, Aida.Observability.RootCause.CauseCandidate? Cause, string? Asset)> _causes = [];

    private FiringAlert Incident(Incident incident)
    {
        // One with no cause yet is read each time: a cause attached within the millisecond it was opened (the twin's
        // plant time stands still within a tick) leaves its update time as it was.
        if (!_causes.TryGetValue(incident.Id, out var known) || known.Updated != incident.Updated || known.Cause is null)
        {
            var top = _incidents!.Get(incident.Id).RootCause?.Top;
            known = (incident.Updated, top, known.Asset ?? top?.Asset ?? MostNamed(incident.Assets));
            _causes[incident.Id] = known;
        }

        var cause = known.Cause;
        var response = _agent?.Responses.LastOrDefault(r => r.Incident == incident.Id);
        var asset = known.Asset;
        var lockout = asset is null ? null : _guard?.Lockouts.Of(asset);
        var description = $"{IncidentStore.Name(incident.State)} since {Stamp(incident.Updated)}, opened {Stamp(incident.Opened)}, {incident.AlertCount} alert(s)"
            + (cause is null ? "" : $"; root cause: {cause.FaultKind} on {cause.Asset} (score {cause.Score.ToString("0.00", CultureInfo.InvariantCulture)})")
            + (response is null ? "" : $"; runbook {response.Runbook}: {response.Run.State}" + (response.Run.Whereabouts is { } where ? $", {where}" : ""))
            + (lockout is null ? "" : $"; {lockout.Describe()}");
        return Alert("AidaIncident", asset is null ? [new("incident", Id(incident.Id))] : [new("incident", Id(incident.Id)), new("asset", asset)],
            incident.Severity, $"incident {incident.Id}: {incident.Title}", description, $"#incidents/{incident.Id}", incident.Opened);
    }

    /// <summary>The asset most of an incident's alerts name (the first by name of a tie), or null for none.</summary>
    private static string? MostNamed(IReadOnlyDictionary<string, int> assets) =>
        assets.Count == 0 ? null : assets.OrderByDescending(a => a.Value).ThenBy(a => a.Key, StringComparer.Ordinal).First().Key;

    private FiringAlert Approval(ActionRecord record, TimeSpan timeout)
    {
        var a = record.Action;
        return Alert("AidaApprovalNeeded", [new("action", a.Id), new("asset", a.Asset)], a.Risk == RiskClass.High ? "critical" : "warning",
            $"{a.Id}: {ActionKindNames.Name(a.Kind)} {a.Asset} to {Number(a.Value)} ({a.Risk.ToString().ToLowerInvariant()} risk, {a.BlastRadiusRacks} rack(s) in its blast radius) waits for an approver until {Stamp(record.ProposedAt + timeout)}",
            $"asked by {record.RequestedBy}: {a.Reason}; approve or reject it on the dashboard's Agent page or with POST /api/actions/{a.Id}/approve|reject",
            "#agent", record.ProposedAt);
    }

    /// <param name="since">When it began by the plant's clock, if known (<see cref="FiringAlert.Since"/>).</param>
    private FiringAlert Alert(string name, IReadOnlyList<KeyValuePair<string, string>> identity, string severity, string summary, string description, string page, DateTimeOffset? since = null) =>
        new([new("alertname", name), new("factory", _factory), .. identity, new("severity", severity)],
            [new("summary", summary), new("description", description)],
            _dashboard is null ? null : _dashboard + page) { Since = since };

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
