using Aida.Automation.Actions;
using Aida.Automation.Audit;
using Aida.Automation.Optimiser;
using Aida.Automation.Runbooks;
using Aida.Automation.Safety;
using Aida.Model.Facility;
using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Observability.Detection;
using Aida.Observability.Incidents;
using Aida.Observability.RootCause;
using Aida.Reliability.Budgets;
using Aida.Reliability.Policy;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Automation.Agents;

/// <summary>How the agent runs.</summary>
public sealed record PlantAgentOptions
{
    public AutomationMode Mode { get; init; } = AutomationMode.Autonomous;

    /// <summary>The most autonomy a person may hand it while it runs (<see cref="PlantAgent.ChangeMode"/>): a site over the
    /// network's agent is supervised at most.</summary>
    public AutomationMode HighestMode { get; init; } = AutomationMode.Autonomous;

    /// <summary>How often the agent looks for new alerts and advances its runbooks.</summary>
    public TimeSpan Period { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How often, between periods, the agent reads the equipment's own alarms (a unit's fault flag, a leak, a
    /// lost feed: <see cref="EquipmentAlarm"/>) at one instant; one raised since its last look runs detection and the
    /// runbooks at once instead of at the next period (default 10 s; null: only every <see cref="Period"/>). Full
    /// detection reads two hours of history, too dear to run every few seconds; trends (drifts, stuck sensors) wait for
    /// the period.</summary>
    public TimeSpan? EquipmentAlarmLook { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>No detection before this long after the start (the plant settling, the detectors' history).</summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>When set, detection starts here instead of <see cref="WarmUp"/> after the agent starts: a network site's
    /// agent watches from when its collectors started, so a fault already present alerts at its first sample. That holds
    /// in a store kept from an earlier run too: the threshold rules read the readings before this as normal
    /// (<see cref="AlertingOptions.WatchStart"/>), so a chiller that tripped before a restart
    /// is still an alert, and its runbook runs again.</summary>
    public DateTimeOffset? DetectFrom { get; init; }

    /// <summary>The detection's settings (null: the defaults); <see cref="DetectFrom"/> sets its watch start.</summary>
    public AlertingOptions? Alerting { get; init; }

    /// <summary>A root cause starts its runbook only with at least this score.</summary>
    public double MinCauseScore { get; init; } = 0.3;

    public TimeSpan ApprovalTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>A cause whose runbook failed (rolled back) or was not started is not answered again for this long
    /// (default 12 h): the rollback called a person, and the same steps would fail the same way.</summary>
    public TimeSpan RetryAfterFailure { get; init; } = TimeSpan.FromHours(12);

    /// <summary>In simulation: how long the simulated approver takes (null: nobody approves).</summary>
    public TimeSpan? ApproverDelay { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>How long a reading answered as stuck, dropped out or scattering must behave before the agent trusts it
    /// again and resolves its incident (default 30 min; null: only a person resolving the incident does; a drift always
    /// waits for a person): see <see cref="IncidentPipeline.SensorStillLyingAsync"/>.</summary>
    public TimeSpan? SensorProbation { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>How long every device a telemetry loss named must answer every poll before the agent calls the telemetry
    /// back and resolves the incident, once quiet (default 2 min): see <see cref="IncidentPipeline.TelemetryStillLostAsync"/>.</summary>
    public TimeSpan TelemetryBackAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Whether the cooling optimiser runs (every <see cref="CoolingOptimiserOptions.Step"/>).</summary>
    public bool Optimise { get; init; } = true;

    /// <summary>The optimiser's settings.</summary>
    public CoolingOptimiserOptions Optimiser { get; init; } = new();
}

/// <summary>One fault the agent worked on: the incident, its cause, the runbook and when it finished.</summary>
public sealed record AgentResponse(long Incident, DateTimeOffset Opened, string FaultKind, string Asset, string Runbook, RunbookRun Run);

/// <summary>A response in progress (its runbook waiting for approval or running, or finished with its restore waiting for
/// the repair), as the agent keeps it for a restart (<see cref="PlantAgent.ResponsesChanged"/>,
/// <see cref="PlantAgent.Resume"/>): its incident, the cause it answered and the run's progress.</summary>
public sealed record KeptResponse(long Incident, DateTimeOffset Opened, string FaultKind, string Asset, string Runbook, RunbookProgress Progress);

/// <summary>Aida's agent in the loop: every period, and at once when equipment raises an alarm, it takes the new alerts
/// from telemetry into incidents with their root cause (<see cref="IncidentPipeline"/>), starts the runbook for each
/// cause it is sure enough of, and advances the runbooks, the actions' verifications and the approvals. It reads
/// telemetry through the query interface and writes only through the <see cref="GuardedPlant"/> it builds around the
/// plant it is given, never the plant itself.</summary>
public sealed class PlantAgent : IPlantAgent
{
    private readonly Factory _factory;
    private readonly PlantAgentOptions _options;
    private readonly TimeProvider _clock;
    private readonly AuditLog? _audit;
    private readonly IncidentPipeline _pipeline;
    private readonly IncidentStore _incidents;
    private readonly Dictionary<long, IncidentState> _reached = [];
    private readonly List<(long Incident, AgentResponse Held)> _attachedTo = [];
    private readonly Dictionary<AgentResponse, (RunbookState State, bool Restored)> _followed = new(ReferenceEqualityComparer.Instance);
    private bool _resolveWaits;
    private bool _resumed;
    private readonly ActionCatalog _catalog;
    private readonly IReadOnlyList<Runbook> _runbooks;
    private readonly SimulatedApprover? _approver;
    private readonly HashSet<(long Incident, string Kind, string Asset)> _handled = [];
    private readonly Dictionary<(string Metric, string Asset), AgentResponse> _lyingReadings = [];
    private List<ReadingExclusion> _exclusions = [];
    private readonly HashSet<long> _sensorsTrustedAgain = [];
    private readonly HashSet<long> _telemetryBack = [];
    private readonly Dictionary<long, DateTimeOffset> _trustedAgainAt = [];
    private readonly Dictionary<AgentResponse, Labels> _apartFromPeers = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<(string Metric, string Asset), List<PointInfo>> _pointsOf = [];
    private readonly DateTimeOffset _detectFrom;
    private readonly CoolingOptimiser? _optimiser;
    private readonly UpsModePolicy? _upsMode;
    private readonly Func<EfficiencyEnvelope?> _efficiency;
    private DateTimeOffset _next;
    private DateTimeOffset _nextPlan;
    private DateTimeOffset _nextObserve;
    private DateTimeOffset? _observedAt;
    private DateTimeOffset _nextAlarmLook;

    public PlantAgent(IPlant plant, Factory factory, IQueryEngine telemetry, IncidentStore incidents, SafetyEnvelopeSpec envelope, IReadOnlyList<Runbook> runbooks, TimeProvider clock, PlantAgentOptions? options = null, AuditLog? audit = null, Func<EfficiencyEnvelope?>? efficiency = null)
    {
        ArgumentNullException.ThrowIfNull(plant);
        _factory = factory ?? throw new ArgumentNullException(nameof(factory));
        _options = options ?? new PlantAgentOptions();
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _audit = audit;
        _runbooks = runbooks ?? throw new ArgumentNullException(nameof(runbooks));
        var safety = new SafetyEnvelope(envelope, factory);
        Plant = new GuardedPlant(plant, safety, clock, "agent:aida", audit, efficiency);
        Executor = new ActionExecutor(Plant, clock, _options.Mode, _options.ApprovalTimeout, "agent:aida", audit);
        // The agent's actions are A1, A2, …, on after those of an earlier run on the same audit log.
        _catalog = new ActionCatalog(factory, safety, "A", audit?.HighestNumbered("A") ?? 0);
        _detectFrom = _options.DetectFrom ?? clock.GetUtcNow() + _options.WarmUp;
        var alerting = _options.Alerting ?? new AlertingOptions();
        _incidents = incidents ?? throw new ArgumentNullException(nameof(incidents));
        _pipeline = new IncidentPipeline(telemetry, factory, incidents, _detectFrom, _options.DetectFrom is { } watch ? alerting with { WatchStart = watch } : alerting);
        _next = _detectFrom + _options.Period;
        if (_options.ApproverDelay is { } delay)
        {
            _approver = new SimulatedApprover(Executor, clock, delay);
        }

        _efficiency = efficiency ?? (() => null);
        if (_options.Optimise)
        {
            _optimiser = new CoolingOptimiser(factory, envelope, _options.Optimiser);
            _upsMode = new UpsModePolicy(factory);
            _nextPlan = clock.GetUtcNow();
        }
    }

    /// <summary>How it runs.</summary>
    public PlantAgentOptions Options => _options;

    /// <summary>How it acts now: <see cref="AutomationMode.DryRun"/> (plans, runbooks and actions proposed and audited,
    /// nothing written), <see cref="AutomationMode.Supervised"/> or <see cref="AutomationMode.Autonomous"/>; it starts
    /// in its options' mode and a person may change it while it runs (<see cref="ChangeMode"/>).</summary>
    public AutomationMode Mode => Executor.Mode;

    /// <summary>The last change of <see cref="Mode"/> a person made, or null while it runs in its options' mode.</summary>
    public ModeChange? LastModeChange { get; private set; }

    /// <summary>Called with each change of <see cref="Mode"/> (a live run keeps it for a restart).</summary>
    public Action<ModeChange>? ModeChanged { get; init; }

    /// <summary>Acts in <paramref name="mode"/> from now on: a person taking the controls back (dry run: the agent goes
    /// on planning and proposing, audited, and writes nothing) or handing them over again. What waits for an approver
    /// waits on, and a runbook already running goes on in the new mode. Audited as a decision of <paramref name="by"/>.</summary>
    /// <exception cref="ArgumentException">No reason given, the agent is in that mode already, or the mode is above its
    /// <see cref="PlantAgentOptions.HighestMode"/>.</exception>
    public ModeChange ChangeMode(AutomationMode mode, string by, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(by);
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new ArgumentException("say why the agent's mode changes: it is audited", nameof(reason));
        }

        if (mode == Mode)
        {
            throw new ArgumentException($"the agent is {ModeChange.Name(mode)} already", nameof(mode));
        }

        if (mode > _options.HighestMode)
        {
            throw new ArgumentException($"this agent runs {ModeChange.Name(_options.HighestMode)} at most (a site over the network), not {ModeChange.Name(mode)}", nameof(mode));
        }

        var change = new ModeChange(Mode, mode, by, reason.Trim(), _clock.GetUtcNow());
        Executor.ChangeMode(mode);
        LastModeChange = change;
        _audit?.Append(by, AuditKind.Decision, "agent:mode", change.Text);
        ModeChanged?.Invoke(change);
        return change;
    }

    /// <summary>Takes up a change of mode an earlier run kept (Aida restarted): the agent acts in its mode, as that
    /// person left it, audited as taken up.</summary>
    /// <exception cref="ArgumentException">The kept mode is above <see cref="PlantAgentOptions.HighestMode"/>.</exception>
    public void TakeUpMode(ModeChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (change.To > _options.HighestMode)
        {
            throw new ArgumentException($"this agent runs {ModeChange.Name(_options.HighestMode)} at most (a site over the network), not {ModeChange.Name(change.To)}", nameof(change));
        }

        Executor.ChangeMode(change.To);
        LastModeChange = change;
        _audit?.Append("agent:aida", AuditKind.Decision, "agent:mode", $"taken up after a restart: {ModeChange.Name(change.To)}, as {change.By} set it at {change.At:O} ({change.Reason})");
    }

    /// <summary>Readings the optimiser's model has learnt from (one a minute).</summary>
    public int OptimiserObservations { get; private set; }

    /// <summary>Optimiser moves the guard accepted and refused.</summary>
    public int OptimiserMoves { get; private set; }

    public int OptimiserRefusals { get; private set; }

    /// <summary>Optimiser moves (set points, speeds, UPS modes) proposed in dry run and not written.</summary>
    public int OptimiserProposals { get; private set; }

    /// <summary>The points the optimiser does not read now: the sensors the agent answers as lying, whose incidents are
    /// not resolved (empty without the optimiser).</summary>
    public IReadOnlySet<int> DistrustedReadings => _optimiser?.Distrusted ?? new HashSet<int>();

    /// <summary>The readings left out of the SLIs that read them (<see cref="SloCorrections"/>): each reading the agent
    /// answered as lying, from when its sensor fault was found until it was trusted again (open while it is not), in the
    /// order they were left out. The budgets the efficiency policy reads apply them; a run's summary reports its SLOs
    /// both as read and so corrected.</summary>
    public IReadOnlyList<ReadingExclusion> ReadingExclusions => _exclusions;

    /// <summary>Called with every <see cref="ReadingExclusions"/> after each change (a live run keeps them beside its
    /// incidents, for <see cref="Resume"/> after a restart).</summary>
    public Action<IReadOnlyList<ReadingExclusion>>? ExclusionsChanged { get; init; }

    /// <summary>Called with the responses in progress (<see cref="KeptResponse"/>: waiting for approval, running, or whose
    /// restore waits for the repair) after each change (a live run keeps them beside its incidents, for
    /// <see cref="Resume"/> after a restart).</summary>
    public Action<IReadOnlyList<KeptResponse>>? ResponsesChanged { get; init; }

    // Each response's run revision when ResponsesChanged was last called; null until the first call (which writes even an
    // empty list, so a kept file whose responses a person resolved while Aida was down is emptied).
    private List<(RunbookState State, int Step, int Audited, int Proposed, int Taken)>? _keptAt;

    // The responses taken up after a restart while waiting for approval or running: the same cause alerted again in a
    // new incident (the alarm raised again at the restart) is attached to them.
    private readonly HashSet<AgentResponse> _takenUpInProgress = new(ReferenceEqualityComparer.Instance);

    /// <summary>The guarded plant every write of the agent goes through (for the optimiser, too).</summary>
    public GuardedPlant Plant { get; }

    public ActionExecutor Executor { get; }

    public List<AgentResponse> Responses { get; } = [];

    // Each asset's runbook steps a lockout would leave refused, worked out once per asset (at 1 GW it binds the runbooks
    // over thousands of assets) and read from the API and on-call alike.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<string>> _lockoutImpact = new(StringComparer.Ordinal);

    /// <summary>What a lockout of <paramref name="asset"/> takes from the agent, a line per runbook step that would write
    /// it and on which faults (<see cref="RunbookReach"/>): while it is held those steps are refused and their run rolls
    /// back to a person.</summary>
    public IReadOnlyList<string> LockoutImpact(string asset) =>
        _lockoutImpact.GetOrAdd(asset, a => [.. RunbookReach.Of(_factory, _runbooks, a).Select(w => w.Describe(a))]);

    /// <summary>Detection rounds that failed to read their telemetry (<see cref="QueryException"/>), each audited.</summary>
    public int DetectionFailures { get; private set; }

    /// <summary>Incidents the agent's pipeline opened.</summary>
    public int Incidents => _pipeline.Incidents;

    /// <summary>Alerts the incident store's disk has refused so far (stored at a later round, in order), and why; their
    /// incidents start no runbook until then. Why is also set when the last round stopped on that disk refusing a read.</summary>
    public (int Alerts, string? Why) IncidentsUnstored => (_pipeline.Unstored.Alerts, _pipeline.Unstored.Why ?? _diskRefusal);

    /// <summary>The SLOs' burn-rate alerts that fired up to a time and were not returned before (the error budgets'
    /// alerts): each one after the watch begins is folded into the agent's incidents as it fires, as
    /// <c>aida run --data DIR</c> does without the agent. Root cause leaves them out of its scoring, so they join an
    /// incident, or open one, without naming a cause of their own. Null: telemetry alerts only.</summary>
    public Func<DateTimeOffset, IEnumerable<Alert>>? SloBurnAlerts { get; init; }

    /// <summary>SLO burn-rate alerts folded into the agent's incidents.</summary>
    public int SloAlertsFolded { get; private set; }

    public void Tick(DateTimeOffset now)
    {
        try
        {
            TickCore(now);
            _diskRefusal = null;
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (IncidentStore.IsDiskRefusal(e))
        {
            // The incident store's disk refused a read or a write not held (SQLite can need the disk to read: its shared
            // memory file, its WAL): this round stops there, and the next tries again. The guard, the runbooks and the
            // optimiser go on; before, the exception ended aida run (seen under load on a full tmpfs).
            _diskRefusal = e.Message;
        }
    }

    private string? _diskRefusal;

    private void TickCore(DateTimeOffset now)
    {
        Optimise(now);
        if (!EquipmentAlarmRaised(now) && now < _next)
        {
            AdvanceRuns();
            return;
        }

        _next = now + _options.Period;

        // Once a period, the actuators' read-backs against what was written: one moved behind the agent's back is noted
        // in the audit log (and listed by the API) when it is found, not only at the next write of it.
        Plant.Disputes();
        MoveIncidents();
        try
        {
            _pipeline.StepAsync(now).GetAwaiter().GetResult();
        }
        catch (QueryException e)
        {
            // A detection round that cannot read its telemetry (a query over the engine's limits, a remote engine's
            // error) does not end the run: the runbooks in progress, the guard and the equipment-alarm look go on, and
            // the pipeline moves on only after a round succeeds, so the next round reads this one's window too. Before,
            // the exception ended aida run and aida simulate (ref-1gw at 01:43, a query over 50 million samples).
            DetectionFailures++;
            _audit?.Append("agent:aida", AuditKind.Observation, "detection", $"round at {now:O} failed: {e.Message}; its window is read again at the next round");
            AdvanceRuns();
            return;
        }

        foreach (var burn in SloBurnAlerts?.Invoke(now) ?? [])
        {
            if (burn.At > _detectFrom)
            {
                _pipeline.Add(burn);
                SloAlertsFolded++;
            }
        }
        var started = false;
        foreach (var (id, (opened, finding)) in _pipeline.Findings.OrderBy(f => f.Key))
        {
            if (OnLyingReadingsOnly(id) is not null || ReadLiesOnly(id))
            {
                continue;
            }

            if (finding.Top is not { } cause || cause.Score < _options.MinCauseScore)
            {
                continue;
            }

            var asset = cause.Asset.Split('/')[0];
            if (IsAnswered(cause.FaultKind, asset, now))
            {
                AttachToTakenUp(id, cause, asset);
                continue;
            }

            if (_handled.Contains((id, cause.FaultKind, cause.Asset)))
            {
                continue;
            }

            if (UntrustedSensor(cause.FaultKind, asset) is { } lying)
            {
                // The same sensor fault found again while its reading is not trusted yet is that fault, not a new one: on
                // faults/sensor-drift the energy balance found cdu-h1-a's drifting supply four times (02:38-05:12), and
                // each got the runbook, a notification and an incident of its own.
                _handled.Add((id, cause.FaultKind, cause.Asset));
                if (id != lying.Incident)
                {
                    _audit?.Append("agent:aida", AuditKind.Observation, $"incident {id}",
                        $"root cause {cause.FaultKind} on {cause.Asset} (score {cause.Score:0.###}): the sensor fault answered in incident {lying.Incident} is not trusted again yet; attached to it, no runbook");
                    _attachedTo.Add((id, lying));
                    Advance(id, IncidentState.Acknowledged, $"attached to incident {lying.Incident}'s response ({lying.FaultKind} on {lying.Asset}): the same sensor fault, not trusted again yet");
                }

                continue;
            }

            if (AwaitingRepair(asset) is { } held
                && (held.FaultKind == cause.FaultKind ? held.Run.State is RunbookState.Succeeded : !_pipeline.EquipmentReported(id, held.Asset)))
            {
                // The asset's fault is known, mitigated and waiting for its repair, so what the rules infer from its
                // readings follows from that fault and its mitigation (a CDU with its jobs moved off, a valve still
                // stuck). Answered again, a stuck valve's CDU got the sensor-drift runbook (sessions 22-23). Attached
                // for good, audited once: answered at the restore, two such findings moved the jobs off the repaired
                // CDU (session 24, faults week seed 3). An alarm the equipment raises itself is still answered, and the
                // same cause after a rolled-back response is retried as before (RetryAfterFailure). The response's own
                // incident finding its cause again is no news: handled already, it is not audited again.
                if (_handled.Add((id, cause.FaultKind, cause.Asset)))
                {
                    _audit?.Append("agent:aida", AuditKind.Observation, $"incident {id}",
                        $"root cause {cause.FaultKind} on {cause.Asset} (score {cause.Score:0.###}): {held.Asset} awaits repair after incident {held.Incident} ({held.FaultKind}, runbook {held.Runbook} {held.Run.State}); attached to it, no runbook");
                    if (id != held.Incident)
                    {
                        _attachedTo.Add((id, held));
                        Advance(id, IncidentState.Acknowledged, $"attached to incident {held.Incident}'s response ({held.FaultKind} on {held.Asset}), which awaits its repair");
                    }
                }

                continue;
            }

            if (!_handled.Add((id, cause.FaultKind, cause.Asset)))
            {
                continue;
            }

            var book = _runbooks.FirstOrDefault(b => b.Triggers.Contains(cause.FaultKind, StringComparer.Ordinal));
            _audit?.Append("agent:aida", AuditKind.Observation, $"incident {id}", $"root cause {cause.FaultKind} on {cause.Asset} (score {cause.Score:0.###}); runbook {book?.Name ?? "none"}");
            if (book is null)
            {
                continue;
            }

            Start(id, opened, cause, asset, book);
            started = true;
        }

        DistrustLyingSensors(now);
        WatchTelemetryLoss(now);
        AdvanceRuns();
        if (started)
        {
            // A fault changes what the cooling can do: the optimiser observes and plans at once, after the runbook's
            // first writes, so its moves toward safety start with the runbook (session 22 waited for the next
            // observation: after two CRAHs failed the water came down a minute late, the inlets over 27 °C for 350 s).
            // It observes too, not only plans: a plan between observations reads the racks' mean power over the last
            // observed minute beside temperatures of now, which a load step makes disagree beyond the model's gate
            // (lying sensors: full pumps and fans; session 22's first build, 150 blind plans a week, 1.0-1.7 MWh).
            // Observations keep a minute apart from here; one already taken at this instant is not repeated.
            if (_observedAt != now)
            {
                _nextObserve = now;
            }

            _nextPlan = now;
            Optimise(now);
        }
    }

    /// <summary>Attaches incident <paramref name="id"/> to the response to the same cause that was taken up after a restart
    /// waiting for approval or running, if there is one (audited once): the equipment's alarm raised again when the
    /// agent started again is that fault, not a new one. Before, it stayed open for a person beside the taken-up
    /// incident, and an approver saw two leaks of one rack.</summary>
    private void AttachToTakenUp(long id, CauseCandidate cause, string asset)
    {
        if (_takenUpInProgress.FirstOrDefault(r => r.FaultKind == cause.FaultKind && r.Asset == asset) is not { } held
            || held.Incident == id || !_handled.Add((id, cause.FaultKind, cause.Asset)))
        {
            return;
        }

        _audit?.Append("agent:aida", AuditKind.Observation, $"incident {id}",
            $"root cause {cause.FaultKind} on {cause.Asset} (score {cause.Score:0.###}): the fault of incident {held.Incident}, taken up after a restart (runbook {held.Runbook} {held.Run.State}); attached to it, no runbook");
        _attachedTo.Add((id, held));
        Advance(id, IncidentState.Acknowledged, $"attached to incident {held.Incident}'s response ({held.FaultKind} on {held.Asset}), taken up after a restart");
    }

    /// <summary>Starts runbook <paramref name="book"/> on incident <paramref name="id"/> for <paramref name="cause"/>.</summary>
    private AgentResponse Start(long id, DateTimeOffset opened, CauseCandidate cause, string asset, Runbook book)
    {
        var run = new RunbookRun(book, RunbookBindings.For(_factory, asset), Executor, _catalog, Plant, _clock, _audit);
        run.HeldByOthers = actuator => Responses.Any(r => !ReferenceEquals(r.Run, run) && r.Run.Holds(actuator));
        var response = new AgentResponse(id, opened, cause.FaultKind, asset, book.Name, run);
        Responses.Add(response);
        Advance(id, IncidentState.Acknowledged, $"runbook {book.Name} started for {cause.FaultKind} on {cause.Asset}");
        return response;
    }

    /// <summary>The runs waiting for a person's go-ahead as a whole (a runbook with <c>approval: true</c>, in dry-run and
    /// supervised modes), oldest first.</summary>
    public IReadOnlyList<AgentResponse> WaitingForApproval => [.. Responses.Where(r => r.Run.WaitingUntil is not null)];

    /// <summary>Approves the runbook that waits as a whole on incident <paramref name="incident"/>: it runs at once, as far
    /// as its steps go without waiting (over the network, the isolation is written before the approval is answered,
    /// not at the agent's next tick 10 s later), and its steps' high-risk actions go with this approval instead of
    /// waiting for another. Audited as the approver's.</summary>
    /// <exception cref="KeyNotFoundException">No runbook of the agent answers that incident.</exception>
    /// <exception cref="ApprovalException">Its runbook is not waiting for approval, or the approval came too late.</exception>
    public AgentResponse ApproveRunbook(long incident, string approver)
    {
        ArgumentException.ThrowIfNullOrEmpty(approver);
        var response = Waiting(incident);
        response.Run.Approve(approver);
        response.Run.Tick();
        return response;
    }

    /// <summary>Rejects the runbook that waits as a whole on incident <paramref name="incident"/>: it does nothing, and the
    /// incident stays acknowledged for a person.</summary>
    /// <exception cref="KeyNotFoundException">No runbook of the agent answers that incident.</exception>
    /// <exception cref="ApprovalException">Its runbook is not waiting for approval.</exception>
    public AgentResponse RejectRunbook(long incident, string approver, string? note = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(approver);
        var response = Waiting(incident);
        response.Run.Reject(approver, note);
        return response;
    }

    /// <summary>The response on <paramref name="incident"/> whose run waits for approval, else its latest (whose run then
    /// says why it cannot be decided).</summary>
    private AgentResponse Waiting(long incident) =>
        Responses.FirstOrDefault(r => r.Incident == incident && r.Run.State == RunbookState.WaitingForApproval)
        ?? Responses.LastOrDefault(r => r.Incident == incident)
        ?? throw new KeyNotFoundException($"no runbook of the agent answers incident {incident}");

    /// <summary>Takes up what the agent's earlier run on the same incidents left (<c>aida run --data DIR</c> restarted):
    /// the readings it had left out of the SLIs (<paramref name="earlier"/>, in order; an open one stays open while its
    /// reading is still not trusted), and the sensor faults of the incidents not resolved yet. A lying reading's
    /// anomaly that began before the restart is not alerted again, so without this the optimiser read a stuck or
    /// scattering sensor again, and its slices counted again in the budgets the efficiency policy reads. Each incident
    /// whose root cause is a sensor fault sure enough (<see cref="PlantAgentOptions.MinCauseScore"/>) and that is not
    /// resolved has its stored alerts read again (<see cref="IncidentPipeline.Adopt"/>) and, oldest first, is answered
    /// as the run would answer it now: its runbook again (audited as resumed), or attached to the response to the same
    /// sensor fault before it. Their readings are trusted again as before: a person resolves the incident, or they
    /// behave for <see cref="PlantAgentOptions.SensorProbation"/> from now. The responses in progress
    /// (<paramref name="inProgress"/>, as <see cref="ResponsesChanged"/> gave them) are taken up first: a runbook waiting
    /// for approval waits on, one running goes on at its step, and a restore runs when the repair shows. Call it once,
    /// before the first tick.</summary>
    /// <returns>The incidents taken up, answered or attached, in order.</returns>
    public IReadOnlyList<long> Resume(IReadOnlyList<ReadingExclusion> earlier, IReadOnlyList<KeptResponse>? inProgress = null)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        if (_resumed || Responses.Count > 0 || _exclusions.Count > 0)
        {
            throw new InvalidOperationException("Resume takes up an earlier run once, before this one has answered anything");
        }

        _resumed = true;
        _exclusions = [.. earlier];
        var taken = ResumeResponses(inProgress ?? []);
        foreach (var incident in _incidents.List().Where(i => i.State != IncidentState.Resolved && !taken.Contains(i.Id)).OrderBy(i => i.Id))
        {
            if (_incidents.Get(incident.Id).RootCause?.Top is not { } cause
                || !cause.FaultKind.StartsWith("sensor-", StringComparison.Ordinal) || cause.Score < _options.MinCauseScore
                || _runbooks.FirstOrDefault(b => b.Triggers.Contains(cause.FaultKind, StringComparer.Ordinal)) is not { } book)
            {
                continue;
            }

            _pipeline.Adopt(incident.Id);
            _handled.Add((incident.Id, cause.FaultKind, cause.Asset));
            taken.Add(incident.Id);
            var asset = cause.Asset.Split('/')[0];
            if (Responses.LastOrDefault(r => r.FaultKind == cause.FaultKind && r.Asset == asset) is { } held)
            {
                _audit?.Append("agent:aida", AuditKind.Observation, $"incident {incident.Id}",
                    $"taken up after a restart: root cause {cause.FaultKind} on {cause.Asset} (score {cause.Score:0.###}), the sensor fault of incident {held.Incident}; attached to it, no runbook");
                _attachedTo.Add((incident.Id, held));
                continue;
            }

            _audit?.Append("agent:aida", AuditKind.Observation, $"incident {incident.Id}",
                $"taken up after a restart: root cause {cause.FaultKind} on {cause.Asset} (score {cause.Score:0.###}), {IncidentStore.Name(incident.State)} since before it: its readings not used until trusted again; runbook {book.Name} again");
            Start(incident.Id, incident.Opened, cause, asset, book);
        }

        if (taken.Count == 0 && earlier.Count == 0)
        {
            return taken;
        }

        taken.Sort();

        // The runbooks' notices go out and the readings are left out before the optimiser's first plan.
        AdvanceRuns();
        DistrustLyingSensors(_clock.GetUtcNow());
        return taken;
    }

    /// <summary>The responses an earlier run of the agent left in progress (<paramref name="kept"/>), taken up as they would
    /// have gone on. One waiting for its repair has its restore run when the repair shows: before, a rack isolated for
    /// a leak stayed isolated after a restart, a standby CRAH kept running and held jobs stayed held until a person put
    /// them back, and what the rules inferred of the asset awaiting repair was answered as a new fault. One waiting for
    /// approval waits until the same time, under the same incident: before, the leak's alarm raised again opened a new
    /// incident whose runbook waited afresh, and the first stayed acknowledged for nobody. One running goes on at its
    /// step: before, a runbook stopped halfway (a standby started, its check never made) and nothing ran the rest. A kept
    /// response whose incident a person resolved meanwhile, or whose runbook is gone or changed, is not taken up
    /// (audited, the latter).</summary>
    private List<long> ResumeResponses(IReadOnlyList<KeptResponse> kept)
    {
        var taken = new List<long>();
        foreach (var k in kept)
        {
            if (_incidents.List().FirstOrDefault(i => i.Id == k.Incident) is not { } incident || incident.State == IncidentState.Resolved)
            {
                continue;
            }

            var book = _runbooks.FirstOrDefault(b => b.Name == k.Runbook);
            RunbookRun run;
            try
            {
                run = RunbookRun.Resume(book ?? throw new ArgumentException($"runbook '{k.Runbook}' is no longer loaded", nameof(kept)),
                    RunbookBindings.For(_factory, k.Asset), Executor, _catalog, Plant, _clock, _audit, k.Progress);
            }
            catch (ArgumentException e)
            {
                _audit?.Append("agent:aida", AuditKind.Observation, $"incident {k.Incident}",
                    $"not taken up after a restart: {e.Message}; what runbook {k.Runbook} changed ({string.Join(", ", k.Progress.Changed)}) is a person's to put back");
                continue;
            }

            run.HeldByOthers = actuator => Responses.Any(r => !ReferenceEquals(r.Run, run) && r.Run.Holds(actuator));
            var response = new AgentResponse(k.Incident, k.Opened, k.FaultKind, k.Asset, k.Runbook, run);
            Responses.Add(response);
            _pipeline.Adopt(k.Incident);
            if (_incidents.Get(k.Incident).RootCause?.Top is { } cause)
            {
                _handled.Add((k.Incident, cause.FaultKind, cause.Asset));
            }

            if (run.State is RunbookState.WaitingForApproval or RunbookState.Running)
            {
                _takenUpInProgress.Add(response);
            }

            _audit?.Append("agent:aida", AuditKind.Observation, $"incident {k.Incident}",
                $"taken up after a restart: {k.FaultKind} on {k.Asset}, runbook {k.Runbook} {run.State}, {run.Whereabouts}");
            taken.Add(k.Incident);
        }

        return taken;
    }

    /// <summary>Hands the responses waiting for their repair to <see cref="ResponsesChanged"/> when they changed: checked
    /// every tick, so by the runs' revisions, not by building what they keep.</summary>
    private void KeepResponses()
    {
        if (ResponsesChanged is null)
        {
            return;
        }

        if (_keptAt is { } was && was.Count == Responses.Count)
        {
            var same = true;
            for (var i = 0; i < was.Count && same; i++)
            {
                same = Responses[i].Run.Revision == was[i];
            }

            if (same)
            {
                return;
            }
        }

        _keptAt = [.. Responses.Select(r => r.Run.Revision)];
        ResponsesChanged([.. Responses.Select(r => r.Run.Kept() is { } p ? new KeptResponse(r.Incident, r.Opened, r.FaultKind, r.Asset, r.Runbook, p) : null).OfType<KeptResponse>()]);
    }

    /// <summary>The optimiser stops reading the sensors the agent answers as lying (a response to sensor-stuck,
    /// sensor-dropout, sensor-noise or sensor-drift) until they are trusted again: the readings its alerts name
    /// (<see cref="IncidentPipeline.SensorReadings"/>) read as missing, neither learnt from nor planned on. They are trusted
    /// again when a person resolves the incident (the sensor replaced or recalibrated), or, unless they drift, when they
    /// have behaved for <see cref="PlantAgentOptions.SensorProbation"/> after the runbook (<see cref="TrustedAgain"/>); the agent then
    /// resolves the incident itself, and the incidents attached to it as reading only the lying sensor
    /// (<see cref="OnLyingReadingsOnly"/>). A 3 K-scattering rack inlet, trusted, set its hall's hottest inlet: the
    /// optimiser moved back toward safety for its spikes (faults/sensor-noise, 02:03 and 02:08, hall 2's fans to
    /// 0.8-0.9); a drifting CDU supply, trusted, cost 1.5 MWh of overhead in 12 h (faults/sensor-drift, session 27).
    /// Until session 28 only a person brought a reading back, so in simulation it stayed out to the end of the run.</summary>
    private void DistrustLyingSensors(DateTimeOffset now)
    {
        var sensors = Responses.Where(r => r.FaultKind.StartsWith("sensor-", StringComparison.Ordinal)).ToList();
        var resolved = sensors.Count == 0 ? [] : _incidents.List(IncidentState.Resolved).Select(i => i.Id).ToHashSet();
        var distrusted = new SortedDictionary<int, (long Incident, string Name)>();
        var lying = new Dictionary<Labels, (AgentResponse Response, DateTimeOffset Since)>();
        _lyingReadings.Clear();
        foreach (var r in sensors)
        {
            if (resolved.Contains(r.Incident) || _sensorsTrustedAgain.Contains(r.Incident) || TrustedAgain(r, now))
            {
                // A person resolved it (the sensor replaced), or its readings behaved on probation: the incident and those
                // attached to it are resolved (FollowIncidents).
                if (_sensorsTrustedAgain.Add(r.Incident))
                {
                    _trustedAgainAt[r.Incident] = now;
                    _resolveWaits = true;
                }
                continue;
            }

            foreach (var (labels, since) in ReadingsOf(r, now))
            {
                // Lying since the fault was found on its asset: a drift found by the energy balance names its reading
                // only once the supply leaves its setpoint, hours later (faults/sensor-drift: found 02:38, named 05:49).
                lying.TryAdd(labels, (r, since < r.Opened ? since : r.Opened));
                _lyingReadings.TryAdd((labels.MetricName, r.Asset), r);
                foreach (var p in PointsOf(labels.MetricName, r.Asset))
                {
                    distrusted.TryAdd(p.Index, (r.Incident, p.Name));
                }
            }
        }

        ExcludeFromSlos(lying, now);
        if (_optimiser is null || distrusted.Keys.ToHashSet().SetEquals(_optimiser.Distrusted))
        {
            return;
        }

        _optimiser.Distrusted = distrusted.Keys.ToHashSet();
        _audit?.Append("agent:aida", AuditKind.Decision, "cooling-optimiser", distrusted.Count == 0
            ? "every reading trusted again"
            : $"readings not used by the optimiser until trusted again ({Until(_options.SensorProbation)}): {string.Join(", ", distrusted.Values.Select(d => $"{d.Name} (incident {d.Incident})"))}");
    }

    /// <summary>A telemetry loss the agent answered (its runbook told a person) is over once every device its alerts name
    /// has answered every poll for <see cref="PlantAgentOptions.TelemetryBackAfter"/> (audited once); the agent then
    /// resolves its incident when quiet (<see cref="FollowIncidents"/>), as it does a sensor trusted again. Before, it
    /// stayed mitigated until a person resolved it, though the devices were back.</summary>
    private void WatchTelemetryLoss(DateTimeOffset now)
    {
        foreach (var r in Responses.Where(r => r.FaultKind == RootCauseAnalyzer.TelemetryLoss && r.Run.State is RunbookState.Succeeded && !_telemetryBack.Contains(r.Incident)))
        {
            var incidents = IncidentsOf(r);
            if (_pipeline.TelemetryStillLostAsync(incidents, now, _options.TelemetryBackAfter).GetAwaiter().GetResult() is not null)
            {
                continue;
            }

            _telemetryBack.Add(r.Incident);
            _resolveWaits = true;
            _audit?.Append("agent:aida", AuditKind.Observation, $"incident {r.Incident}",
                $"telemetry back: every device its alerts named has answered every poll for {Span(_options.TelemetryBackAfter)}");
        }
    }

    /// <summary>The readings sensor response <paramref name="r"/> is known by, each since the first alert that named it
    /// (<see cref="IncidentPipeline.SensorReadingsSince"/>); for a drift whose alerts name none yet (found by the CDU energy
    /// balance alone) its CDU's supply, since the response opened, once it reads apart from its hall's others with every
    /// valve fully open (<see cref="IncidentPipeline.SupplyApartFromPeersAsync"/>, asked every period until then, audited
    /// once). Before, the supply was named only when it left its setpoint band: on faults/sensor-drift the drift was
    /// found at 02:38 and the optimiser read the drifting supply until 05:49.</summary>
    private IReadOnlyList<(Labels Series, DateTimeOffset Since)> ReadingsOf(AgentResponse r, DateTimeOffset now)
    {
        var named = _pipeline.SensorReadingsSince(IncidentsOf(r), r.Asset, r.FaultKind);
        if (r.FaultKind != FaultCatalog.Of(FaultKind.SensorDrift).Name)
        {
            return named;
        }

        if (!_apartFromPeers.TryGetValue(r, out var apart) && named.Count == 0
            && _pipeline.SupplyApartFromPeersAsync(r.Asset, now).GetAwaiter().GetResult() is { } found)
        {
            apart = found.Series;
            _apartFromPeers[r] = apart;
            _audit?.Append("agent:aida", AuditKind.Observation, $"incident {r.Incident}",
                $"the energy balance names no reading; {found.Evidence}: {apart} taken as the drifting reading");
        }

        return apart is null || named.Any(n => n.Series.Equals(apart)) ? named : [.. named, (apart, r.Opened)];
    }

    /// <summary>Keeps <see cref="ReadingExclusions"/> to the readings answered as lying: one that became so is left out of
    /// the SLIs that read it from when its sensor fault was found (its response's incident opened, or an earlier alert
    /// that named it), and one trusted again (its incident resolved, or its probation passed) is counted again from now;
    /// each change audited. Its slices say nothing about the plant, and
    /// counted they spend a budget the efficiency policy reads: on faults/sensor-noise a rack inlet scattering by 3 K
    /// spent the rack-inlet SLO's, and the policy froze the optimiser at 02:16 for a plant that was fine.</summary>
    private void ExcludeFromSlos(Dictionary<Labels, (AgentResponse Response, DateTimeOffset Since)> lying, DateTimeOffset now)
    {
        // Copied on change: the API's budgets read them from another thread.
        var exclusions = _exclusions.ToList();
        for (var i = 0; i < exclusions.Count; i++)
        {
            var x = exclusions[i];
            if (x.Until is null && !lying.ContainsKey(x.Series))
            {
                exclusions[i] = x with { Until = now };
                _audit?.Append("agent:aida", AuditKind.Decision, "slo-corrections", $"{x.Series} counted in the SLOs that read it again from {now:u}: trusted again (left out since {x.From:u}, {x.Reason})");
            }
        }

        foreach (var (series, (r, since)) in lying)
        {
            if (exclusions.Any(x => x.Until is null && x.Series.Equals(series)))
            {
                continue;
            }

            var reason = $"incident {r.Incident}: {r.FaultKind} on {r.Asset}";
            exclusions.Add(new ReadingExclusion(series, since, null, reason));
            _audit?.Append("agent:aida", AuditKind.Decision, "slo-corrections", $"{series} left out of the SLOs that read it from {since:u} until trusted again: {reason}, a lying reading says nothing about the plant");
        }

        if (!exclusions.SequenceEqual(_exclusions))
        {
            _exclusions = exclusions;
            ExclusionsChanged?.Invoke(exclusions);
        }
    }

    /// <summary>Whether the readings of sensor response <paramref name="r"/> have behaved for
    /// <see cref="PlantAgentOptions.SensorProbation"/> since its runbook succeeded and since any alert of the incident last
    /// named them (<see cref="IncidentPipeline.SensorStillLyingAsync"/>); audited when they have. Asked every period once
    /// the probation has run: the sensor replaced, or a fault that cleared by itself; one that lies again is a new
    /// incident, answered again.</summary>
    private bool TrustedAgain(AgentResponse r, DateTimeOffset now)
    {
        if (_options.SensorProbation is not { } probation || r.Run.State is not RunbookState.Succeeded || now - r.Run.Started < probation)
        {
            return false;
        }

        var incidents = IncidentsOf(r);
        if (_pipeline.SensorStillLyingAsync(incidents, r.Asset, r.FaultKind, now, probation).GetAwaiter().GetResult() is not null)
        {
            return false;
        }

        var names = _pipeline.SensorReadings(incidents, r.Asset, r.FaultKind).SelectMany(l => PointsOf(l.MetricName, r.Asset)).Select(p => p.Name).Distinct();
        _audit?.Append("agent:aida", AuditKind.Observation, $"incident {r.Incident}",
            $"{string.Join(", ", names)} behaved for {Span(probation)} (readings present, not frozen, scatter at its usual level): trusted again");
        return true;
    }

    /// <summary>The incident a response answers and those attached to it.</summary>
    private List<long> IncidentsOf(AgentResponse r) => [r.Incident, .. _attachedTo.Where(a => ReferenceEquals(a.Held, r)).Select(a => a.Incident)];

    /// <summary>The response to sensor fault <paramref name="kind"/> on <paramref name="asset"/> whose runbook succeeded
    /// and whose readings are not trusted again yet (neither resolved by a person nor behaved on probation); null when
    /// none (a <paramref name="kind"/> that is no sensor fault: none).</summary>
    private AgentResponse? UntrustedSensor(string kind, string asset)
    {
        if (!kind.StartsWith("sensor-", StringComparison.Ordinal))
        {
            return null;
        }

        var r = Responses.LastOrDefault(r => r.FaultKind == kind && r.Asset == asset && r.Run.State is RunbookState.Succeeded && !_sensorsTrustedAgain.Contains(r.Incident));
        return r is not null && _incidents.Get(r.Incident).Incident.State != IncidentState.Resolved ? r : null;
    }

    private static string Span(TimeSpan? span) => span is { } t ? $"{t.TotalMinutes:0} min" : "ever";

    private static string Until(TimeSpan? probation) => probation is null
        ? "when a person resolves the sensor's incident"
        : $"stuck, missing or scattering: after {Span(probation)} of behaving; drifting: when a person resolves the incident";

    /// <summary>The plant's points of a metric on an asset, looked up once (this runs every period while a sensor
    /// fault is answered, and a large plant has millions of points).</summary>
    private List<PointInfo> PointsOf(string metric, string asset)
    {
        if (!_pointsOf.TryGetValue((metric, asset), out var points))
        {
            points = [.. Plant.Points.Where(p => p.Metric == metric && p.Asset == asset)];
            _pointsOf[(metric, asset)] = points;
        }

        return points;
    }

    /// <summary>The response whose lying sensor every alert of incident <paramref name="id"/> reads (a threshold alert on
    /// the reading, an SLO page raised where it reads, a check derived from it: <see cref="Alert.Reads"/>), attaching the
    /// incident to it the first time (acknowledged, audited once); null when the incident is a response's own or any alert
    /// reads none of its lying readings. A scattering rack inlet left out of the optimiser's view still crossed 27 °C now
    /// and then and opened incidents of its own, open for a person to the end (faults/sensor-noise, session 27: three);
    /// a drifting CDU supply read true again when the drift ended, and the step in it was taken for the CDU's cold plates
    /// fouling, whose runbook lowered the setpoint and asked for a plate cleaning (faults/sensor-drift, 08:18).</summary>
    private AgentResponse? OnLyingReadingsOnly(long id)
    {
        if (_lyingReadings.Count == 0 || Responses.Any(r => r.Incident == id))
        {
            return null;
        }

        AgentResponse? by = null;
        foreach (var a in _pipeline.AlertsOf(id))
        {
            IEnumerable<string> metrics = a.Series is { } series ? [series.MetricName, .. a.Reads] : a.Reads;
            var held = metrics.Select(m => _lyingReadings.GetValueOrDefault((m, a.Asset))).FirstOrDefault(r => r is not null);
            if (held is null || (by is not null && !ReferenceEquals(by, held)))
            {
                return null;
            }

            by = held;
        }

        if (by is not null && !_attachedTo.Contains((id, by)) && _handled.Add((id, "lying-reading", by.Asset)))
        {
            _audit?.Append("agent:aida", AuditKind.Observation, $"incident {id}",
                $"every alert reads {by.Asset}'s sensor answered as lying in incident {by.Incident} ({by.FaultKind}); attached to it, no runbook");
            _attachedTo.Add((id, by));
            Advance(id, IncidentState.Acknowledged, $"attached to incident {by.Incident}'s response ({by.FaultKind} on {by.Asset}): its alerts read only a sensor answered as lying");
        }

        return by;
    }

    /// <summary>Whether incident <paramref name="id"/> was attached to a sensor response as reading only its lying sensor
    /// and has taken no alert since that sensor was trusted again: what it holds was the sensor's lies, not a fault of
    /// its own. Regression: after a restart the scatter that went on was alerted again in an incident of its own,
    /// attached to the taken-up response; the minute the reading was trusted again, the incident's finding (the same
    /// sensor-noise) got the runbook as a new fault, and the reading was left out again for 30 min. An alert after the
    /// trust (the sensor lying again) is news, and the incident is answered.</summary>
    private bool ReadLiesOnly(long id) =>
        _attachedTo.Any(a => a.Incident == id && _trustedAgainAt.TryGetValue(a.Held.Incident, out var at) && _pipeline.AlertsOf(id).All(x => x.At <= at));

    /// <summary>Whether equipment raised an alarm since the agent last looked (every
    /// <see cref="PlantAgentOptions.EquipmentAlarmLook"/> once detection has begun; at its periods too, so an alarm seen
    /// at a period is not news at the next look).</summary>
    private bool EquipmentAlarmRaised(DateTimeOffset now)
    {
        if (_options.EquipmentAlarmLook is not { } look || now < _detectFrom || now < _nextAlarmLook)
        {
            return false;
        }

        _nextAlarmLook = now + look;
        return _pipeline.EquipmentAlarmRaisedAsync(now).GetAwaiter().GetResult();
    }

    /// <summary>Whether a cause is being answered already: once per incident and cause (the caller's set), and not while
    /// a response to the same cause is still at work, nor within <see cref="PlantAgentOptions.RetryAfterFailure"/> of
    /// one that failed (it rolled back and called a person: the same steps would fail the same way). The same cause
    /// found again after a response succeeded (the fault recurred) gets its runbook again, once the response's restore
    /// has run if its runbook has one (before, the asset awaits repair: <see cref="AwaitingRepair"/>).</summary>
    private bool IsAnswered(string kind, string asset, DateTimeOffset now) =>
        Responses.Any(r => r.FaultKind == kind && r.Asset == asset
            && (r.Run.State is RunbookState.Running or RunbookState.WaitingForApproval
                || (r.Run.State is RunbookState.RolledBack or RunbookState.NotStarted && now - r.Opened < _options.RetryAfterFailure)));

    /// <summary>The response on <paramref name="asset"/> whose runbook finished (it succeeded, or rolled back and called a
    /// person) and whose restore waits for the repair (the runbook has restore steps, not yet all run); null when none.</summary>
    private AgentResponse? AwaitingRepair(string asset) =>
        Responses.LastOrDefault(r => r.Asset == asset && r.Run.State is RunbookState.Succeeded or RunbookState.RolledBack && r.Run.Book.Restores.Count > 0 && r.Run.Restored is null);

    /// <summary>The optimiser observes every minute and moves setpoints every step (every minute while it predicts a limit
    /// crossed), within the efficiency envelope; while a runbook is running (a fault's response comes first) it writes
    /// only its moves back toward safety.</summary>
    private void Optimise(DateTimeOffset now)
    {
        if (_optimiser is null)
        {
            return;
        }

        // Once a minute: the model's forgetting is tuned per observation (a few hours' memory at one a minute).
        if (now >= _nextObserve)
        {
            _nextObserve = now + TimeSpan.FromMinutes(1);
            _observedAt = now;
            _optimiser.Observe(now, Plant);
            OptimiserObservations++;
            SetUpsMode(now);
        }

        if (now < _nextPlan)
        {
            return;
        }

        _nextPlan = now + _options.Optimiser.Step;
        if (_efficiency() is not { } envelope)
        {
            return;
        }

        // While a runbook responds to a fault, the optimiser still plans but writes only moves back toward safety: it
        // brings the water and air down after a loss of airflow as the runbook starts the standby, and never trims
        // what the runbook pushed up.
        var plan = _optimiser.Plan(now, Plant, envelope);
        if (plan.LimitsReached)
        {
            _nextPlan = now + _options.Optimiser.StepAtLimits;
        }

        if (Responses.Any(r => r.Run.State is RunbookState.Running or RunbookState.WaitingForApproval))
        {
            plan = _optimiser.TowardSafetyOnly(plan);
        }

        if (Mode == AutomationMode.DryRun)
        {
            // Dry run: the plan is what the optimiser would do, audited as a proposal; nothing is written.
            if (plan.Moves.Count > 0)
            {
                _audit?.Append("agent:optimiser", AuditKind.Decision, "cooling-optimiser", "dry run, not written: " + plan.AuditText());
                OptimiserProposals += plan.Moves.Count;
            }

            return;
        }

        if (plan.Moves.Count > 0)
        {
            // The plan's reason goes into the audit log before its writes, as a runbook's decision does.
            _audit?.Append("agent:optimiser", AuditKind.Decision, "cooling-optimiser", plan.AuditText());
        }

        var deferred = new List<(string Actuator, HoldCause Why)>();
        foreach (var applied in _optimiser.Apply(plan, Plant))
        {
            if (applied.Result.Ok)
            {
                OptimiserMoves++;
            }
            else if (applied.Deferred)
            {
                deferred.Add((applied.Move.Actuator, applied.DeferredFor));
            }
            else
            {
                OptimiserRefusals++;
            }
        }

        if (deferred.Count > 0)
        {
            var why = deferred.GroupBy(d => d.Why).Select(g => $"{string.Join(", ", g.Select(d => d.Actuator))} ({g.Key.Describe()})");
            _audit?.Append("agent:optimiser", AuditKind.Observation, "cooling-optimiser",
                $"{deferred.Count} move(s) deferred to the next step: {string.Join("; ", why)}");
        }

        // The next plan counts from when this one's writes ended, not from when it began. On the wall clock a plan and
        // its writes take time (the first one most), and the next plan, a step after this one began, wrote its moves a
        // little less than a minute after these: the rate limit over the last minute then refused (since, deferred)
        // every other step's set point moves over the wire (session 38). In simulation the clock stands still meanwhile.
        if (plan.Moves.Count > 0 && _clock.GetUtcNow() - now is { Ticks: > 0 } took)
        {
            _nextPlan += took;
        }
    }

    /// <summary>UPS eco mode as the policy wants it: back to double conversion at once, into eco mode only while no
    /// runbook is running.</summary>
    private void SetUpsMode(DateTimeOffset now)
    {
        var busy = Responses.Any(r => r.Run.State is RunbookState.Running or RunbookState.WaitingForApproval);
        foreach (var (actuator, value) in _upsMode!.Moves(now, Plant, _efficiency()))
        {
            if (value >= 0.5 && busy)
            {
                continue;
            }

            if (Mode == AutomationMode.DryRun)
            {
                _audit?.Append("agent:optimiser", AuditKind.Decision, actuator, $"dry run, not written: {actuator} to {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
                OptimiserProposals++;
                continue;
            }

            // Refused only for now (its device down, say): asked again at the next tick, not written, refused and
            // audited every minute of an outage.
            if (Plant.Judge(actuator, value) is { Allowed: false, ForNow: true })
            {
                continue;
            }

            if (Plant.Write(actuator, value).Ok)
            {
                OptimiserMoves++;
            }
            else
            {
                OptimiserRefusals++;
            }
        }
    }

    private void AdvanceRuns()
    {
        _approver?.Tick();
        if (_approver is not null)
        {
            // The simulated approver answers a runbook waiting as a whole as it answers a pending action.
            var now = _clock.GetUtcNow();
            foreach (var r in Responses.Where(r => r.Run.WaitingUntil > now && now - r.Run.Started >= _approver.Delay))
            {
                r.Run.Approve(SimulatedApprover.Name);
            }
        }

        Executor.Tick();
        foreach (var r in Responses)
        {
            r.Run.Tick();
        }

        FollowIncidents();
        KeepResponses();
    }

    /// <summary>Moves the incidents the agent answers along their lifecycle as its responses go (by "agent:aida", on the
    /// incident's timeline): acknowledged when a runbook starts on it; mitigated once every runbook started on it has
    /// succeeded; resolved once every one of them has restored what it changed, having seen the repair, and the
    /// incident is quiet (<see cref="IncidentPipeline.IsQuiet"/>: resolved while its group still took alerts, the next
    /// one would open a new incident naming the same cause, and its runbook would run on the repaired asset). A runbook
    /// with no restore leaves its incident mitigated, for a person to resolve (a chiller reset), but for a sensor fault
    /// whose reading is trusted again (<see cref="TrustedAgain"/>), resolved once quiet. An
    /// incident attached to a response awaiting repair is resolved with it. A rolled-back runbook called a person and
    /// leaves its incident acknowledged. An incident a person moved further is left as it is.</summary>
    private void FollowIncidents()
    {
        var changed = false;
        foreach (var r in Responses)
        {
            var seen = (r.Run.State, r.Run.Restored is not null);
            if (!_followed.TryGetValue(r, out var was) || was != seen)
            {
                _followed[r] = seen;
                changed = true;
            }
        }

        if (!changed && !_resolveWaits)
        {
            return;
        }

        _resolveWaits = false;
        var now = _clock.GetUtcNow();
        foreach (var mine in Responses.GroupBy(r => r.Incident).Select(g => g.ToList()))
        {
            var id = mine[0].Incident;
            if (_reached.GetValueOrDefault(id) == IncidentState.Resolved)
            {
                continue;
            }

            var books = string.Join(", ", mine.Select(r => r.Runbook));
            if (mine.TrueForAll(r => r.Run.Restored is not null))
            {
                Resolve(id, now, $"runbook {books}: the repair seen, what it changed restored");
            }
            else if (_sensorsTrustedAgain.Contains(id) && mine.TrueForAll(r => r.FaultKind.StartsWith("sensor-", StringComparison.Ordinal)))
            {
                Resolve(id, now, $"runbook {books}: the sensor's readings behaved for {Span(_options.SensorProbation)}, trusted again");
            }
            else if (_telemetryBack.Contains(id) && mine.TrueForAll(r => r.FaultKind == RootCauseAnalyzer.TelemetryLoss))
            {
                Resolve(id, now, $"runbook {books}: every device its alerts named has answered for {Span(_options.TelemetryBackAfter)}, the telemetry back");
            }
            else if (mine.TrueForAll(r => r.Run.State is RunbookState.Succeeded))
            {
                Advance(id, IncidentState.Mitigated, $"runbook {books} succeeded{(mine.TrueForAll(r => r.Run.Book.Restores.Count > 0) ? "; its restore waits for the repair" : "; resolve it once the fault is repaired")}");
            }
        }

        foreach (var (id, held) in _attachedTo)
        {
            if (held.Run.Restored is not null)
            {
                Resolve(id, now, $"incident {held.Incident}'s fault repaired: its runbook {held.Runbook} restored what it changed");
            }
            else if (_sensorsTrustedAgain.Contains(held.Incident) && !Responses.Any(r => r.Incident == id))
            {
                Resolve(id, now, $"incident {held.Incident}'s sensor trusted again (resolved by a person, or its reading behaved on probation)");
            }
        }
    }

    /// <summary>Resolves incident <paramref name="id"/> if it is quiet, else looks again at the next tick.</summary>
    private void Resolve(long id, DateTimeOffset now, string note)
    {
        if (_reached.GetValueOrDefault(id) == IncidentState.Resolved)
        {
            return;
        }

        if (_pipeline.IsQuiet(id, now))
        {
            Advance(id, IncidentState.Resolved, note);
        }
        else
        {
            _resolveWaits = true;
        }
    }

    /// <summary>Moves incident <paramref name="id"/> to <paramref name="to"/> if it is not there or past it yet.</summary>
    private void Advance(long id, IncidentState to, string note)
    {
        if (_reached.GetValueOrDefault(id) >= to)
        {
            return;
        }

        _reached[id] = to;
        _unmoved.Add((id, to, note));
        MoveIncidents();
    }

    // Lifecycle moves the incident store's disk refused, oldest first: made, in order, at the next move or round.
    private readonly List<(long Id, IncidentState To, string Note)> _unmoved = [];

    private void MoveIncidents()
    {
        while (_unmoved.Count > 0)
        {
            var (id, to, note) = _unmoved[0];
            try
            {
                _incidents.TryAdvance(id, to, "agent:aida", note);
            }
            catch (Microsoft.Data.Sqlite.SqliteException e) when (IncidentStore.IsDiskRefusal(e))
            {
                // Its runbook goes on; the store says the incident's state once its disk takes it.
                return;
            }

            _unmoved.RemoveAt(0);
        }
    }
}
