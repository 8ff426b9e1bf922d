using Aida.Automation.Actions;
using Aida.Automation.Agents;
using Aida.Automation.Audit;
using Aida.Automation.Runbooks;
using Aida.Automation.Safety;
using Aida.Model.Config;
using Aida.Model.Facility;
using Aida.Model.Plant;
using Aida.Observability.Detection;
using Aida.Observability.Incidents;
using Aida.Observability.RootCause;
using Aida.Reliability.Budgets;
using Aida.Reliability.OpenSlo;
using Aida.Reliability.Policy;
using Aida.Reliability.Runs;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Aida.Twin.Simulation;

namespace Aida.Cli;

/// <summary>Aida's agent wired to a plant: the bundled safety envelope and runbooks, incidents and the audit log beside
/// the plant's telemetry, and the efficiency envelope from the SLO pack's budgets over that telemetry (every 15 min).
/// On the twin (<c>aida simulate --mode agent</c>, <c>aida run</c>) the simulator ticks it and an auditor below the guard
/// counts any write outside the envelope reaching the plant (the twin's own actuator state is the ground truth); on a
/// network site (<c>aida run --plant network --mode agent</c>) the caller ticks it on the wall clock and the devices'
/// writes pass the same guard.</summary>
internal sealed class AgentHost : IDisposable
{
    /// <summary>How often the budgets behind the efficiency envelope are evaluated.</summary>
    public static readonly TimeSpan BudgetPeriod = TimeSpan.FromMinutes(15);

    private readonly IncidentStore _incidents;
    private readonly AuditLog _audit;
    private readonly EnvelopeAuditor? _auditor;
    private readonly string? _scratch;
    private readonly string _site;

    private AgentHost(PlantAgent agent, IncidentStore incidents, AuditLog audit, EnvelopeAuditor? auditor, string? scratch, string site, FiledExclusions filed)
    {
        _site = site;
        Filed = filed;
        Agent = agent;
        _incidents = incidents;
        _audit = audit;
        _auditor = auditor;
        _scratch = scratch;
    }

    public PlantAgent Agent { get; }

    // What became of the mode a person set in an earlier run on the same directory, for Resumed().
    private string? _modeSaid;

    /// <summary>The lockouts taken up from an earlier run on the same directory (<c>lockouts.json</c>) that still hold.</summary>
    public IReadOnlyList<Lockout> LockoutsHeld { get; private set; } = [];

    /// <summary>The incidents the agent took up from an earlier run on the same directory (<see cref="PlantAgent.Resume"/>).</summary>
    public IReadOnlyList<long> TakenUp { get; private set; } = [];

    /// <summary>What the agent and its safety envelope took up from an earlier run on the same directory, a line each
    /// for a person (none when nothing).</summary>
    public IEnumerable<string> Resumed()
    {
        if (TakenUpSaid() is { } responses)
        {
            yield return responses;
        }

        if (_modeSaid is { } mode)
        {
            yield return mode;
        }

        if (Agent.Plant.TakenUp.Resumed is { } envelope)
        {
            yield return envelope;
        }

        if (LockoutsHeld.Count > 0)
        {
            yield return Lockouts.Said(LockoutsHeld);
        }

        if (Agent.Plant.Lockouts.Planned is { Count: > 0 } planned)
        {
            yield return Lockouts.SaidPlanned(planned);
        }
    }

    /// <summary>What the agent took up from an earlier run, one line for a person (null when nothing).</summary>
    public string? TakenUpSaid()
    {
        if (TakenUp.Count == 0)
        {
            return null;
        }

        var responses = Agent.Responses.Where(r => TakenUp.Contains(r.Incident)).Select(r => $"incident {r.Incident} ({r.FaultKind} on {r.Asset}, runbook {r.Runbook} {r.Run.State}"
            + (r.Run.Whereabouts is { } where ? ", " + where : "") + ")").ToList();
        var attached = TakenUp.Count(id => Agent.Responses.All(r => r.Incident != id));
        return $"the agent takes up {string.Join("; ", responses)}" + (attached > 0 ? $"; {attached} more attached to them" : "");
    }

    /// <summary>The readings people left out of the SLIs (through the API), which the agent's budgets apply beside its own.</summary>
    public FiledExclusions Filed { get; }

    /// <summary>Every reading left out of the SLIs now: the agent's, then those people filed.</summary>
    public IReadOnlyList<ReadingExclusion> Exclusions => [.. Agent.ReadingExclusions, .. Filed.Exclusions];

    /// <summary>The agent's audit log (shared with the API when a live run serves one).</summary>
    public AuditLog Audit => _audit;

    /// <summary>The agent's incidents.</summary>
    public IncidentStore Incidents => _incidents;

    /// <summary>The independent audit of every write that reached the twin (safety violations); none on a network site,
    /// whose devices' true state Aida only knows through their readings.</summary>
    public EnvelopeAuditor? Auditor => _auditor;

    /// <summary>The agent's files in its directory.</summary>
    private static readonly string[] Files = ["incidents.db", "audit.db", "exclusions.json", "agent-exclusions.json", "agent-responses.json", "agent-mode.json", KeptLockouts.FileName];

    /// <summary>Removes an earlier run's incidents and audit log from <paramref name="directory"/>: a simulation's belong
    /// to that run, as its store does (a live run's --data, by contrast, resumes them).</summary>
    public static void StartAfresh(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return; // a new directory: nothing to remove
        }

        // Pooled connections to the old incident store would outlive its deletion: released first (the audit log pools none).
        IncidentStore.ReleasePool(Path.Combine(directory, "incidents.db"));
        foreach (var name in Files)
        {
            foreach (var file in new[] { name, name + "-wal", name + "-shm", name + ".head" })
            {
                File.Delete(Path.Combine(directory, file));
            }
        }
    }

    /// <summary>Builds the agent on the simulator's plant and the run's store, and attaches it.</summary>
    /// <param name="directory">Where incidents.db and audit.db go (null: a scratch directory removed afterwards).</param>
    /// <param name="mode">Autonomous, supervised (<c>aida run --supervised</c>: only a person approves, through the API, as
    /// on a network site) or dry run (<c>--dry-run</c>); null for autonomous unless a person changed the mode of an
    /// earlier run on the same directory (kept in agent-mode.json). No simulated approver: nothing waits for one while
    /// autonomous, and a person who makes the agent supervised while it runs approves for themselves.</param>
    public static AgentHost Attach(Simulator simulator, Tsdb store, string? directory, SloSet? slos, AutomationMode? mode)
    {
        var factory = simulator.Scenario.Factory;
        var envelope = SafetyEnvelopeSpec.Load(BundledFiles.Shipped("safety", "envelope.yaml"));
        var auditor = new EnvelopeAuditor(simulator.Plant, envelope, factory, simulator.ActuatorTarget, simulator.Clock);
        // The twin writes its telemetry in time order, so a slice a budget period old is settled: each is counted once
        // (the cost of a week-long run grew with its length before).
        // A fresh store holds nothing older than now: the budgets' long windows are cut there (the same answers, fewer
        // steps). A resumed one (aida run after a restart) is read in full.
        var dataFrom = store.MaxTimeMs is null ? simulator.Clock.GetUtcNow() : (DateTimeOffset?)null;
        var options = new PlantAgentOptions { Mode = mode ?? AutomationMode.Autonomous, ApproverDelay = null };
        var host = Build(auditor, auditor, factory, store, directory, slos, options, simulator.Clock, envelope, dataFrom, settled: true, modeGiven: mode is not null);
        auditor.Lockouts = host.Agent.Plant.Lockouts;
        simulator.AttachAgent(host.Agent);
        return host;
    }

    /// <summary>Builds the agent on a network site's plant (its devices over Modbus, MQTT, Redfish, ...) and the store its
    /// collectors fill; the caller ticks <see cref="Agent"/>. It detects from <paramref name="collectingSince"/> with no
    /// warm-up (a real plant is not settling from a cold start as a simulated one is), and no simulated approver: only a
    /// person approves, through the API. Collected samples can arrive late (a device's own timestamps, a collector
    /// catching up), so the budgets read their whole windows each time; in a store that was empty when the collectors
    /// started (<paramref name="freshStore"/>) those windows are cut there.</summary>
    /// <param name="mode">Supervised, or dry run (<c>--dry-run</c>); null for supervised unless a person changed the mode
    /// of an earlier run on the same directory. Never autonomous: a network site's agent is supervised at most.</param>
    /// <param name="readingSource">Which collector and device deliver a stored series (<see cref="AlertingOptions.ReadingSource"/>).</param>
    public static AgentHost ForNetwork(IPlant plant, Factory factory, Tsdb store, string? directory, SloSet? slos, AutomationMode? mode, TimeProvider clock, DateTimeOffset collectingSince, bool freshStore, Func<Labels, (string Collector, string Device)?>? readingSource = null) =>
        Build(plant, null, factory, store, directory, slos,
            new PlantAgentOptions
            {
                Mode = mode ?? AutomationMode.Supervised, HighestMode = AutomationMode.Supervised, DetectFrom = collectingSince, ApproverDelay = null,
                Alerting = new AlertingOptions { ReadingSource = readingSource },
            }, clock,
            SafetyEnvelopeSpec.Load(BundledFiles.Shipped("safety", "envelope.yaml")), freshStore ? collectingSince : null, settled: false, modeGiven: mode is not null);

    private static AgentHost Build(IPlant plant, EnvelopeAuditor? auditor, Factory factory, Tsdb store, string? directory, SloSet? slos, PlantAgentOptions options, TimeProvider clock, SafetyEnvelopeSpec envelope, DateTimeOffset? dataFrom, bool settled, bool modeGiven)
    {
        var scratch = directory is null ? Path.Combine(Path.GetTempPath(), $"aida-agent-{Guid.NewGuid():N}") : null;
        var dir = directory ?? scratch!;
        Directory.CreateDirectory(dir);
        var runbooks = Runbook.LoadDirectory(BundledFiles.Shipped("runbooks"), factory);
        var incidents = new IncidentStore(Path.Combine(dir, Files[0]), clock);
        var audit = new AuditLog(Path.Combine(dir, Files[1]), clock);
        var query = new EmbeddedQueryEngine(store);
        // The budgets leave out the readings the agent answers as lying (built after them, so read through a closure).
        AgentHost? built = null;
        IReadOnlyList<ReadingExclusion> Exclusions() => built?.Exclusions ?? [];
        var evaluator = new SloEvaluator(query, dataFrom, settledAfter: settled ? BudgetPeriod : null, exclusions: Exclusions, acceptsFrom: settled ? null : () => store.AcceptsFrom);
        var efficiency = new BudgetedEnvelope(evaluator, slos, clock);
        // The agent's own exclusions are kept beside people's, and taken up with its unresolved sensor faults when a run
        // starts again on the same directory.
        var kept = Path.Combine(dir, Files[3]);
        var earlier = Read(kept);
        // And the responses in progress: a runbook waiting for approval or running, or whose restore waits for the repair.
        var responses = Path.Combine(dir, Files[4]);
        var inProgress = ReadResponses(responses);
        // And the agent's mode as a person last changed it, unless the command line says otherwise.
        var modeFile = Path.Combine(dir, Files[5]);
        var keptMode = ReadMode(modeFile);
        var live = slos is null ? null : new LiveSloAlerts(query, slos, clock.GetUtcNow(), Exclusions);
        var agent = new PlantAgent(plant, factory, query, incidents, envelope, runbooks, clock, options, audit, efficiency.Current)
        {
            SloBurnAlerts = BurnAlerts(live, slos),
            ExclusionsChanged = now => FiledExclusions.Write(kept, now.Select((x, i) => new FiledExclusion(i + 1, x, "agent:aida"))),
            ResponsesChanged = now => KeptResponses.Write(responses, now),
            ModeChanged = change => KeptMode.Write(modeFile, change),
        };
        built = new AgentHost(agent, incidents, audit, auditor, scratch, factory.Site.Name, OpenFiled(Path.Combine(dir, Files[2])));
        built.SloAlerts = live;
        if (keptMode is not null && modeGiven)
        {
            File.Delete(modeFile);
            built._modeSaid = $"the agent runs {ModeChange.Name(agent.Mode)} as the command line says; the mode {keptMode.By} set ({ModeChange.Name(keptMode.To)} at {keptMode.At:O}: {keptMode.Reason}) is dropped";
        }
        else if (keptMode is not null)
        {
            try
            {
                agent.TakeUpMode(keptMode);
            }
            catch (ArgumentException e)
            {
                built.Dispose();
                throw new BadInputException($"{modeFile}: {e.Message.Split(" (Parameter", 2)[0]}");
            }

            built._modeSaid = $"the agent runs {ModeChange.Name(keptMode.To)}, as {keptMode.By} set it at {keptMode.At:O} ({keptMode.Reason})";
        }

        // And the assets people locked out: a restart hands none of them back to the agent.
        try
        {
            built.LockoutsHeld = HoldKeptLockouts(agent.Plant.Lockouts, dir);
        }
        catch (BadInputException)
        {
            built.Dispose();
            throw;
        }

        built.TakenUp = agent.Resume([.. earlier.Select(f => f.Exclusion)], inProgress);
        return built;
    }

    /// <summary>The exclusions kept in <paramref name="path"/>; a broken file stops the start, naming it and the entry.</summary>
    private static IReadOnlyList<FiledExclusion> Read(string path)
    {
        try
        {
            return FiledExclusions.Read(path);
        }
        catch (FormatException e)
        {
            throw new BadInputException(e.Message);
        }
    }

    /// <summary>Has <paramref name="lockouts"/> hold those kept in <paramref name="directory"/>'s lockouts.json (and keep
    /// every change there): the agent's guard, or the API's own when no agent runs. A broken file stops the start,
    /// naming it and the entry.</summary>
    internal static IReadOnlyList<Lockout> HoldKeptLockouts(Lockouts lockouts, string directory)
    {
        try
        {
            return KeptLockouts.Attach(lockouts, Path.Combine(directory, KeptLockouts.FileName));
        }
        catch (FormatException e)
        {
            throw new BadInputException(e.Message);
        }
    }

    /// <summary>The agent's mode kept in <paramref name="path"/>; a broken file stops the start, naming it.</summary>
    private static ModeChange? ReadMode(string path)
    {
        try
        {
            return KeptMode.Read(path);
        }
        catch (FormatException e)
        {
            throw new BadInputException(e.Message);
        }
    }

    /// <summary>The agent's responses kept in <paramref name="path"/>; a broken file stops the start, naming it and the entry.</summary>
    private static IReadOnlyList<KeptResponse> ReadResponses(string path)
    {
        try
        {
            return KeptResponses.Read(path);
        }
        catch (FormatException e)
        {
            throw new BadInputException(e.Message);
        }
    }

    /// <summary>The readings people left out of the SLOs (exclusions.json): the agent's when it runs, else those in
    /// <paramref name="dataDirectory"/>; null without either.</summary>
    internal static FiledExclusions? FiledIn(string? dataDirectory, AgentHost? agent) =>
        agent?.Filed ?? (dataDirectory is null ? null : OpenFiled(Path.Combine(dataDirectory, Files[2])));

    /// <summary>The readings people left out of the SLIs, kept in <paramref name="path"/> (a run's data directory).</summary>
    internal static FiledExclusions OpenFiled(string path)
    {
        try
        {
            return new FiledExclusions(path);
        }
        catch (FormatException e)
        {
            throw new BadInputException(e.Message);
        }
    }

    /// <summary>The SLO pack's burn-rate alerts as <paramref name="live"/> steps them, as alerts the agent's
    /// incidents fold (null without SLOs).</summary>
    private static Func<DateTimeOffset, IEnumerable<Alert>>? BurnAlerts(LiveSloAlerts? live, SloSet? slos)
    {
        if (live is null || slos is null)
        {
            return null;
        }

        var bySlo = slos.Slos.ToDictionary(x => x.Name, StringComparer.Ordinal);
        return now => live.StepAsync(now).GetAwaiter().GetResult().Select(b => SloBurnAlerts.From(b, bySlo[b.Slo]));
    }

    /// <summary>The SLO pack's burn-rate alerts the agent steps (those firing: <see cref="LiveSloAlerts.Firing"/>); null
    /// without SLOs.</summary>
    public LiveSloAlerts? SloAlerts { get; private set; }

    /// <summary>The agent's part of the summary, scored against the injected faults (ground truth the agent never saw)
    /// by the evaluation's rule for a right cause.</summary>
    public SimulationSummary Score(SimulationSummary summary, DateTimeOffset start)
    {
        var detected = 0;
        var ttd = new List<double>();
        var ttr = new List<double>();
        var responses = new List<FaultResponseRecord>();
        foreach (var fault in summary.Faults)
        {
            // The first answer to a right cause opened at or after the fault's onset (an answer to an earlier fault of
            // the same kind on the same asset is not this one's).
            var onset = start + TimeSpan.FromSeconds(fault.StartSeconds);
            var response = Agent.Responses
                .Where(r => r.Opened >= onset - Agent.Options.Period && EvalCommand.Matches(new CauseCandidate(r.Asset, r.FaultKind, 0, []), fault, _site))
                .OrderBy(r => r.Opened).FirstOrDefault();
            if (response is null)
            {
                responses.Add(new FaultResponseRecord(fault.Kind, fault.Asset, null, null, null, null, null, false));
                continue;
            }

            detected++;
            var detect = Math.Max(0, (response.Opened - onset).TotalSeconds);
            ttd.Add(detect);
            double? repair = response.Run.Finished is { } finished ? (finished - response.Opened).TotalSeconds : null;
            if (response.Run.State == RunbookState.Succeeded && repair is { } r)
            {
                ttr.Add(r);
            }

            // The fix is the run's own steps (or rollback), not what its restore put back after the repair.
            var applied = response.Run.Actions.Select(a => a.ExecutedAt).Where(t => t is not null && (response.Run.Finished is not { } f || t <= f)).Max();
            double? mitigate = applied is { } at ? (at - response.Opened).TotalSeconds : repair;
            responses.Add(new FaultResponseRecord(fault.Kind, fault.Asset, detect, response.Runbook, response.Run.State.ToString(), mitigate, repair, response.Run.NeededApproval));
        }

        var actions = Agent.Executor.Records.Count(r => r.State is ActionState.Executed or ActionState.Verified or ActionState.RolledBack or ActionState.Unverified);
        return summary with
        {
            Agent = new AgentOutcome(
                summary.Faults.Count,
                detected,
                ttd.Count > 0 ? ttd.Average() : double.NaN,
                ttr.Count > 0 ? ttr.Average() : double.NaN,
                Agent.Incidents,
                actions,
                Agent.OptimiserMoves,
                Agent.Plant.Refused,
                _auditor?.Violations ?? 0)
            {
                Responses = responses,
                IncidentsByState = CountByState(_incidents.List()),
                DetectionFailures = Agent.DetectionFailures,
                ExcludedReadings = [.. Agent.ReadingExclusions.Select(x => new ExcludedReading(
                    x.Series.ToString(), (x.From - start).TotalSeconds, x.Until is { } until ? (until - start).TotalSeconds : null, x.Reason))],
            },
        };
    }

    private static Dictionary<string, int> CountByState(IReadOnlyList<Incident> incidents) =>
        Enum.GetValues<IncidentState>().ToDictionary(IncidentStore.Name, state => incidents.Count(i => i.State == state));

    public void Dispose()
    {
        _incidents.Dispose();
        _audit.Dispose();
        if (_scratch is not null && Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }

    /// <summary>The efficiency envelope from the SLO pack's budgets over the run's telemetry, refreshed every
    /// <see cref="BudgetPeriod"/>; Hold (pump and fan trims only) before the first evaluation or without SLOs.</summary>
    private sealed class BudgetedEnvelope(SloEvaluator evaluator, SloSet? slos, TimeProvider clock)
    {
        private EfficiencyEnvelope? _current;
        private DateTimeOffset _next = clock.GetUtcNow() + BudgetPeriod;

        public EfficiencyEnvelope Current()
        {
            var now = clock.GetUtcNow();
            if (_current is null || now >= _next)
            {
                _next = now + BudgetPeriod;
                var statuses = slos is null || _current is null ? [] : evaluator.EvaluateAsync(slos, now).GetAwaiter().GetResult();
                _current = EfficiencyPolicy.Evaluate(BudgetState.From(statuses));
            }

            return _current;
        }
    }
}
