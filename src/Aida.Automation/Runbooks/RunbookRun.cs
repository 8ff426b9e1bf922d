using System.Globalization;
using Aida.Automation.Actions;
using Aida.Automation.Audit;
using Aida.Automation.Safety;
using Aida.Model.Facility;
using Aida.Model.Plant;

namespace Aida.Automation.Runbooks;

public enum RunbookState
{
    /// <summary>The runbook needs a person's go-ahead before its first step.</summary>
    WaitingForApproval,

    Running,

    Succeeded,

    /// <summary>A step failed (an action refused, rejected or expired, a check not met in time) and the rollback steps ran.</summary>
    RolledBack,

    /// <summary>Nobody approved the runbook in time, or it was rejected: nothing was done.</summary>
    NotStarted,
}

/// <summary>What a runbook's bindings resolve to for a cause on <c>asset</c>: the asset itself, its racks, its hall and
/// the units there, the standby units and every rack.</summary>
public static class RunbookBindings
{
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> For(Factory factory, string asset)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var hall = HallOf(factory, asset);
        return Runbook.Bindings.ToDictionary(name => name, name => Bind(factory, asset, hall, name), StringComparer.Ordinal);
    }

    /// <summary>One binding (<c>racks_in_hall</c>) for a cause on <paramref name="asset"/>, without the others: at 1 GW
    /// <c>all_racks</c> alone is thousands of names (<see cref="RunbookReach"/> binds one for many assets).</summary>
    public static IReadOnlyList<string> One(Factory factory, string asset, string name)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return Bind(factory, asset, HallOf(factory, asset), name);
    }

    private static string? HallOf(Factory factory, string asset) =>
        factory.Racks.FirstOrDefault(r => r.Id == asset)?.Hall
        ?? factory.Cooling.Cdus.FirstOrDefault(c => c.Id == asset)?.Hall
        ?? factory.Cooling.Crahs.FirstOrDefault(c => c.Id == asset)?.Hall
        ?? factory.Halls.FirstOrDefault(h => h.Id == asset)?.Id;

    private static IReadOnlyList<string> Bind(Factory factory, string asset, string? hall, string name) => name switch
    {
        "asset" => [asset],
        "racks" => [.. factory.Racks.Where(r => r.Id == asset || r.Cdu == asset || r.Hall == asset).Select(r => r.Id)],
        "hall" => hall is null ? [] : [hall],
        "cdus_in_hall" => [.. factory.Cooling.Cdus.Where(c => c.Hall == hall).Select(c => c.Id)],
        "crahs_in_hall" => [.. factory.Cooling.Crahs.Where(c => c.Hall == hall && !c.Standby && c.Id != asset).Select(c => c.Id)],
        "standby_crahs_in_hall" => [.. factory.Cooling.Crahs.Where(c => c.Hall == hall && c.Standby).Select(c => c.Id)],
        "racks_in_hall" => [.. factory.Racks.Where(r => r.Hall == hall).Select(r => r.Id)],
        "standby_chillers" => [.. factory.Cooling.Chillers.Where(c => c.Standby && c.Id != asset).Select(c => c.Id)],
        "chillers" => [.. factory.Cooling.Chillers.Select(c => c.Id)],
        "all_racks" => [.. factory.Racks.Select(r => r.Id)],
        _ => throw new ArgumentException($"unknown binding '{name}' (known: {string.Join(", ", Runbook.Bindings)})", nameof(name)),
    };
}

/// <summary>What a run of a runbook keeps for a restart of the agent (<see cref="RunbookRun.Kept"/>), so that a run of the
/// agent started again on the same data takes it up (<see cref="RunbookRun.Resume"/>): its state (waiting for approval,
/// running, or finished with its restore waiting), the actuators it wrote and the plant took (<paramref name="Changed"/>),
/// those it has let go of already (<paramref name="Released"/>), when each restore entry ran (null: not yet), and the
/// readings its thresholds count from (<c>POINT@start</c>). A running run keeps where it is, too.</summary>
public sealed record RunbookProgress(
    RunbookState State, DateTimeOffset Started, DateTimeOffset? Finished, IReadOnlyList<string> Changed, IReadOnlyList<string> Released,
    IReadOnlyList<DateTimeOffset?> RestoredAt, IReadOnlyDictionary<string, double> AtStart)
{
    /// <summary>A running run's step (0-based), the next to finish.</summary>
    public int Step { get; init; }

    /// <summary>A running run's step as the runbook said it (<see cref="RunbookRun.Describe"/>), so a runbook edited while
    /// the agent was down is not taken up at a step that is no longer the same.</summary>
    public string? StepText { get; init; }

    /// <summary>When a running run's step began (a wait counts from it).</summary>
    public DateTimeOffset? StepStarted { get; init; }

    /// <summary>The values a running run's action step proposed, by actuator: proposed again as they were after the
    /// restart, not moved by a step's delta a second time.</summary>
    public IReadOnlyDictionary<string, double> StepValues { get; init; } = new Dictionary<string, double>();

    /// <summary>Who approved the run as a whole (its steps' high-risk actions go with that approval).</summary>
    public string? DecidedBy { get; init; }

    /// <summary>A running run's step actions waiting for an approver (a high-risk action of a run not approved as a whole,
    /// supervised): taken up after the restart under their ids until the same time, not proposed again.</summary>
    public IReadOnlyList<KeptAction> StepWaiting { get; init; } = [];

    /// <summary>Per restore entry (as <see cref="RestoredAt"/>, or empty): the actions it proposed that wait for an
    /// approver. The entry is kept as not run, so an agent that cannot take them up asks again once its condition has
    /// held; one that can takes them up under their ids until the same time.</summary>
    public IReadOnlyList<IReadOnlyList<KeptAction>> RestoreWaiting { get; init; } = [];

    /// <summary>Per restore entry (as <see cref="RestoredAt"/>, or empty): the writes the safety envelope refused when it
    /// last ran; after the restart it runs again only once the envelope would take every one of them.</summary>
    public IReadOnlyList<IReadOnlyList<RefusedWrite>> RestoreRefused { get; init; } = [];

    /// <summary>What its notify steps said (for people: a page such as "send a technician" is not lost when Aida restarts
    /// while its incident is open).</summary>
    public IReadOnlyList<RunbookNotice> Notices { get; init; } = [];
}

/// <summary>A write the safety envelope refused: the actuator and the value.</summary>
public sealed record RefusedWrite(string Actuator, double Value);

/// <summary>What a runbook's notify step said, bound to its asset, and when.</summary>
/// <param name="Line">The step's line in the runbook file.</param>
public sealed record RunbookNotice(DateTimeOffset At, int Line, string Message)
{
    /// <summary>Its severity for people, or null for its incident's (<see cref="NotifyStep.Severity"/>).</summary>
    public string? Severity { get; init; }
}

/// <summary>One run of a runbook for one cause, stepped by <see cref="Tick"/> from the agent loop: actions go through
/// the <see cref="ActionExecutor"/> (so the safety envelope and approvals apply), waits and checks read the clock and
/// the plant, and a failed step runs the rollback steps. Every step is audited.</summary>
public sealed class RunbookRun
{
    private readonly IReadOnlyDictionary<string, IReadOnlyList<string>> _bindings;
    private readonly ActionExecutor _executor;
    private readonly ActionCatalog _catalog;
    private readonly GuardedPlant _plant;
    private readonly TimeProvider _clock;
    private readonly AuditLog? _audit;
    private readonly TimeSpan _approvalTimeout;

    // The readings of the points thresholds count from at the run's start ("POINT@start"), by their relative_to text.
    private readonly Dictionary<string, double> _atStart = new(StringComparer.Ordinal);
    private List<ActionRecord>? _pending;
    private DateTimeOffset? _stepStarted;

    // A run taken up at an action step: the values that step proposed before the restart, by actuator, and its actions
    // that waited for an approver.
    private Dictionary<string, double>? _resumedValues;
    private IReadOnlyList<KeptAction>? _resumedWaiting;

    public RunbookRun(Runbook book, IReadOnlyDictionary<string, IReadOnlyList<string>> bindings, ActionExecutor executor, ActionCatalog catalog, GuardedPlant plant, TimeProvider clock, AuditLog? audit = null)
        : this(book, bindings, executor, catalog, plant, clock, audit, kept: null)
    {
    }

    private RunbookRun(Runbook book, IReadOnlyDictionary<string, IReadOnlyList<string>> bindings, ActionExecutor executor, ActionCatalog catalog, GuardedPlant plant, TimeProvider clock, AuditLog? audit, RunbookProgress? kept)
    {
        Book = book ?? throw new ArgumentNullException(nameof(book));
        _bindings = bindings ?? throw new ArgumentNullException(nameof(bindings));
        _executor = executor ?? throw new ArgumentNullException(nameof(executor));
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _plant = plant ?? throw new ArgumentNullException(nameof(plant));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _audit = audit;
        _approvalTimeout = executor.ApprovalTimeout;
        if (kept is not null)
        {
            // Taken up from an earlier run of the agent (a condition held before the restart counts from now, a
            // conservative start).
            State = kept.State;
            Started = kept.Started;
            Finished = kept.Finished;
            _decidedBy = kept.DecidedBy;
            Notices.AddRange(kept.Notices);
            _changedBefore = [.. kept.Changed];
            _released.UnionWith(kept.Released);
            _restoredAt = [.. kept.RestoredAt];
            _clearSince = new DateTimeOffset?[_restoredAt.Length];
            foreach (var (relative, reading) in kept.AtStart)
            {
                _atStart[relative] = reading;
            }

            var asset = string.Join(",", bindings.GetValueOrDefault("asset") ?? []);
            var changed = _changedBefore.Count > 0 ? $"; it changed {string.Join(", ", _changedBefore.Order(StringComparer.Ordinal))}" : "";
            switch (State)
            {
                case RunbookState.WaitingForApproval:
                    // Waiting as before, until the same time: the time Aida was down counts.
                    Audit(AuditKind.Decision, $"taken up after a restart for {asset}: waiting for approval until {WaitingUntil:O}");
                    break;
                case RunbookState.Running:
                    // At the step it was on: a wait counts from when it began (the plant went on settling while Aida was
                    // down); an action step proposes its actions again, at the values it proposed before (written or
                    // not, the same value is no second move); a check keeps its deadline (a standby that never started
                    // while Aida was down escalates within a minute, not a whole within later), though nothing read the
                    // plant meanwhile: it gets TakeUpLook to read it, and one with a hold that hold from now besides.
                    StepIndex = kept.Step;
                    _stepStarted = Book.Steps[StepIndex] is WaitStep or CheckStep ? kept.StepStarted : null;
                    if (Book.Steps[StepIndex] is CheckStep check && kept.StepStarted is { } checkStarted)
                    {
                        var earliest = clock.GetUtcNow() + check.For + TakeUpLook;
                        _checkDeadline = checkStarted + check.Within > earliest ? checkStarted + check.Within : earliest;
                    }

                    _resumedValues = new Dictionary<string, double>(kept.StepValues, StringComparer.Ordinal);
                    _resumedWaiting = kept.StepWaiting;
                    Audit(AuditKind.Decision, $"taken up after a restart for {asset}: running, at step {StepIndex + 1} of {Book.Steps.Count} ({Describe(Book.Steps[StepIndex])})"
                        + (_decidedBy is null ? "" : $", approved by {_decidedBy}") + changed);
                    break;
                default:
                    var pending = Book.Restores.Where((_, i) => RestoredAt(i) is null).Select(e => e.When.Point).ToList();
                    Audit(AuditKind.Decision, $"taken up after a restart for {asset}: {State} at {Finished:O}, its restore watched again ({string.Join("; ", pending.Select(Bind))})" + changed);
                    TakeUpRestores(kept);
                    break;
            }

            return;
        }

        Started = clock.GetUtcNow();
        // Thresholds counted from a point's reading at the run's start ("POINT@start"), read once, now.
        foreach (var relative in book.Steps.OfType<CheckStep>().Select(c => c.RelativeTo).Concat(book.Restores.Select(r => r.When.RelativeTo)))
        {
            if (relative is not null && relative.EndsWith(Runbook.AtStart, StringComparison.Ordinal))
            {
                _atStart.TryAdd(relative, plant.ReadValue(Bind(relative[..^Runbook.AtStart.Length])));
            }
        }

        State = book.Approval && executor.Mode != AutomationMode.Autonomous ? RunbookState.WaitingForApproval : RunbookState.Running;
        Audit(AuditKind.Decision, $"started for {string.Join(",", bindings.GetValueOrDefault("asset") ?? [])}" + (State == RunbookState.WaitingForApproval ? "; waiting for approval" : ""));
    }

    public Runbook Book { get; }

    public RunbookState State { get; private set; }

    public int StepIndex { get; private set; }

    public DateTimeOffset Started { get; }

    public DateTimeOffset? Finished { get; private set; }

    /// <summary>Where the run is: its state and step, its audited steps, results and restores (counted audit log or not),
    /// the actions it proposed, and those of them the plant took, which an approval may bring after the step that
    /// proposed them. What it keeps for a restart (<see cref="Kept"/>) changes only with one of them.</summary>
    public (RunbookState State, int Step, int Audited, int Proposed, int Taken) Revision =>
        (State, StepIndex, _audited, Actions.Count, Actions.Count(a => a.State is ActionState.Executed or ActionState.Verified or ActionState.Unverified));

    private int _audited;

    public string? Failure { get; private set; }

    /// <summary>When the last of the restore entries ran (the fault repaired, <see cref="Runbook.Restores"/>); null before
    /// or without.</summary>
    public DateTimeOffset? Restored => Book.Restores.Count > 0 && _restoredAt.All(t => t is not null) && !RestoreWaiting ? _restoredAt.Max() : null;

    /// <summary>Whether a restore entry's action waits for a person (supervised: powering a rack again is high risk).
    /// Until it is approved and written, the run has not put the plant back.</summary>
    public bool RestoreWaiting => _restoreActions.Any(records => records.Exists(r => r.State == ActionState.PendingApproval));

    // Per restore entry: when it ran (its actions written), since when its condition has held without a break, and the
    // actions it proposed that are not settled yet (waiting for approval).
    private DateTimeOffset?[] _restoredAt = [];
    private DateTimeOffset?[] _clearSince = [];
    private List<ActionRecord>[] _restoreActions = [];

    // Per restore entry: the writes the safety envelope refused the last time it ran (empty: none). It runs again only
    // once the envelope would take every one of them.
    private List<(string Actuator, double Value)>[] _refusedRestore = [];

    // Actuators this run has let go of: put back by a restore entry, or left to another response that still holds them.
    private readonly HashSet<string> _released = new(StringComparer.Ordinal);

    // Actuators the run wrote before a restart of the agent (a run taken up by Resume).
    private readonly HashSet<string> _changedBefore = new(StringComparer.Ordinal);

    /// <summary>Takes up a run an earlier run of the agent kept (<see cref="Kept"/>), as that run would have gone on:
    /// waiting for approval until the same time; running, at the step it was on; or finished, holding what it changed
    /// and putting it back when its restore entries' conditions hold. Audited as taken up.</summary>
    /// <exception cref="ArgumentException">The kept run is in no state to take up (not started), its restore entries are
    /// not the runbook's, or the step it was on is not the runbook's any more (the runbook changed since).</exception>
    public static RunbookRun Resume(Runbook book, IReadOnlyDictionary<string, IReadOnlyList<string>> bindings, ActionExecutor executor, ActionCatalog catalog, GuardedPlant plant, TimeProvider clock, AuditLog? audit, RunbookProgress kept)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(kept);
        if (kept.State is RunbookState.NotStarted)
        {
            throw new ArgumentException($"runbook '{book.Name}': a run {kept.State} has nothing to take up", nameof(kept));
        }

        if (kept.RestoredAt.Count != book.Restores.Count)
        {
            throw new ArgumentException($"runbook '{book.Name}' has {book.Restores.Count} restore entries, the kept run {kept.RestoredAt.Count}: the runbook changed since", nameof(kept));
        }

        if (kept.State is RunbookState.Running
            && (kept.Step < 0 || kept.Step >= book.Steps.Count || Describe(book.Steps[kept.Step]) != kept.StepText))
        {
            var now = kept.Step >= 0 && kept.Step < book.Steps.Count ? $"'{Describe(book.Steps[kept.Step])}'" : $"no step {kept.Step + 1} (it has {book.Steps.Count})";
            throw new ArgumentException($"runbook '{book.Name}' step {kept.Step + 1} was '{kept.StepText}' when the run was kept and is {now} now: the runbook changed since", nameof(kept));
        }

        return new RunbookRun(book, bindings, executor, catalog, plant, clock, audit, kept);
    }

    /// <summary>What this run keeps for a restart: while it waits for approval, while it runs, and once finished while its
    /// restore waits (restore entries not all run); null otherwise (not started, or finished with nothing to put back).</summary>
    public RunbookProgress? Kept()
    {
        var finished = State is RunbookState.Succeeded or RunbookState.RolledBack;
        if (State is RunbookState.NotStarted || (finished && (Book.Restores.Count == 0 || Restored is not null)))
        {
            return null;
        }

        // A restore entry whose actions wait for a person is kept as not run: the agent started again asks again once its
        // condition has held for its time from the restart.
        var waiting = Enumerable.Range(0, _restoreActions.Length).Where(i => _restoreActions[i].Exists(r => r.State == ActionState.PendingApproval)).ToHashSet();
        var asked = waiting.SelectMany(i => _restoreActions[i]).Select(r => r.Action.Actuator).ToHashSet(StringComparer.Ordinal);
        var progress = new RunbookProgress(State, Started, Finished, [.. ChangedByThisRun().Order(StringComparer.Ordinal)], [.. _released.Except(asked).Order(StringComparer.Ordinal)],
            [.. Enumerable.Range(0, Book.Restores.Count).Select(i => waiting.Contains(i) ? null : RestoredAt(i))], new SortedDictionary<string, double>(_atStart, StringComparer.Ordinal))
        {
            DecidedBy = _decidedBy,
            RestoreWaiting = waiting.Count == 0 ? [] : [.. _restoreActions.Select(WaitingIn)],
            RestoreRefused = _refusedRestore.Any(r => r.Count > 0) ? [.. _refusedRestore.Select(r => r.Select(w => new RefusedWrite(w.Actuator, w.Value)).ToList())] : [],
            Notices = [.. Notices],
        };
        return State != RunbookState.Running ? progress : progress with
        {
            Step = StepIndex,
            StepText = Describe(Book.Steps[StepIndex]),
            StepStarted = _stepStarted,
            StepValues = _pending is null ? new Dictionary<string, double>()
                : new SortedDictionary<string, double>(_pending.GroupBy(r => r.Action.Actuator).ToDictionary(g => g.Key, g => g.Last().Action.Value), StringComparer.Ordinal),
            StepWaiting = _pending is null ? _resumedWaiting ?? [] : WaitingIn(_pending),
        };
    }

    private static List<KeptAction> WaitingIn(List<ActionRecord> records) =>
        [.. records.Where(r => r.State == ActionState.PendingApproval).Select(KeptAction.Of)];

    /// <summary>Takes up actions this run left waiting for an approver before a restart (<paramref name="what"/>: which
    /// step or restore entry): pending again under their ids until the same time (<see cref="ActionExecutor.TakeUp"/>;
    /// one whose time ran out while Aida was down expires at once, as it would have). Null when they cannot all wait here
    /// (the agent started again in another mode, or the factory no longer has the asset): audited, and the caller goes
    /// on as without them (the step proposes them again, the restore asks again once its condition has held).</summary>
    private List<ActionRecord>? TakeUpWaiting(IReadOnlyList<KeptAction> kept, string what)
    {
        if (kept.Count == 0)
        {
            return null;
        }

        var ids = string.Join(", ", kept.Select(k => k.Id));
        List<PlantAction> actions;
        try
        {
            actions = [.. kept.Select(k => _catalog.CreateKept(k.Id, k.Kind, k.Asset, k.Value, k.Reason))];
        }
        catch (ArgumentException e)
        {
            Audit(AuditKind.Observation, $"{what}: {ids} not taken up after the restart: {e.Message}");
            return null;
        }

        if (_executor.Mode != AutomationMode.Supervised || actions.Exists(a => a.Risk != RiskClass.High))
        {
            Audit(AuditKind.Observation, $"{what}: {ids} not taken up after the restart: they waited for an approver, and in {_executor.Mode} mode they would not");
            return null;
        }

        var records = kept.Zip(actions, (k, a) => _executor.TakeUp(a, k.RequestedBy, k.ProposedAt)).ToList();
        Actions.AddRange(records);
        return records;
    }

    /// <summary>A finished run's restore entries as the run kept them: the writes the envelope refused wait for it again,
    /// and the actions waiting for an approver are taken up (the entry then counts as run when they were proposed,
    /// settled as any: approved and written, it is done; rejected or expired, it is asked again).</summary>
    private void TakeUpRestores(RunbookProgress kept)
    {
        _restoreActions = [.. Book.Restores.Select(_ => new List<ActionRecord>())];
        _refusedRestore = [.. Book.Restores.Select((_, i) => i < kept.RestoreRefused.Count ? kept.RestoreRefused[i].Select(w => (w.Actuator, w.Value)).ToList() : [])];
        for (var i = 0; i < Book.Restores.Count && i < kept.RestoreWaiting.Count; i++)
        {
            if (_restoredAt[i] is null && TakeUpWaiting(kept.RestoreWaiting[i], $"restore entry {i + 1}") is { } records)
            {
                _restoreActions[i] = records;
                _restoredAt[i] = records.Min(r => r.ProposedAt);
                _released.UnionWith(records.Select(r => r.Action.Actuator));
            }
        }
    }

    /// <summary>A step as its runbook says it, without its line: <c>action isolate_rack {asset} = 1</c>,
    /// <c>wait 00:05:00</c>, <c>check {asset}/supply_temperature below 30 within 00:10:00</c>, <c>notify …</c>.</summary>
    public static string Describe(RunbookStep step) => step switch
    {
        ActionStep a => string.Create(CultureInfo.InvariantCulture, $"action {ActionKindNames.Name(a.Kind)} {a.Target} {(a.Delta is { } d ? $"by {d}" : $"= {a.Value}")}"),
        WaitStep w => $"wait {w.Duration}",
        CheckStep c => string.Create(CultureInfo.InvariantCulture, $"check {c.Point} {(c.Below ? "below" : "above")} {c.Threshold}{(c.RelativeTo is null ? "" : " from " + c.RelativeTo)} within {c.Within}{(c.For > TimeSpan.Zero ? $" for {c.For}" : "")}"),
        NotifyStep n => "notify " + n.Message,
        _ => step.GetType().Name,
    };

    /// <summary>Whether another run still holds an actuator this run would put back (set by the agent, which knows its
    /// runs): two CRAHs failed in one hall both started its standby, and the first repaired must not stop it while the
    /// second is still down. The last run holding it puts it back.</summary>
    public Func<string, bool>? HeldByOthers { get; set; }

    /// <summary>Whether this run wrote <paramref name="actuator"/> (and the plant took it) and has not put it back yet.</summary>
    public bool Holds(string actuator) =>
        !_released.Contains(actuator) && ChangedByThisRun().Contains(actuator)
        && Book.Restores.Where((_, i) => RestoredAt(i) is null).Any(e => Touches(e.Steps, actuator));

    private DateTimeOffset? RestoredAt(int entry) => entry < _restoredAt.Length ? _restoredAt[entry] : null;

    private bool Touches(IReadOnlyList<RunbookStep> steps, string actuator) => ActuatorsOf(steps).Contains(actuator);

    /// <summary>The actuators the action steps of <paramref name="steps"/> write.</summary>
    private IEnumerable<string> ActuatorsOf(IReadOnlyList<RunbookStep> steps) =>
        steps.OfType<ActionStep>().SelectMany(a => Expand(a.Target).Select(asset => Actuator(a.Kind, asset)));

    /// <summary>Actions this run proposed, in order.</summary>
    public List<ActionRecord> Actions { get; } = [];

    /// <summary>What its notify steps said, oldest first (for people: <c>aida run --alertmanager</c> posts them); a run
    /// taken up after a restart starts with those it said before.</summary>
    public List<RunbookNotice> Notices { get; } = [];

    /// <summary>Whether a person approved (or rejected) this run or any of its actions: the answer was not hands-off.</summary>
    public bool NeededApproval => _decidedBy is not null || Actions.Any(a => a.DecidedBy is not null);

    // Who approved (or rejected) the run as a whole; only an approved run reaches its steps, whose actions go with it.
    private string? _decidedBy;

    /// <summary>Who approved or rejected the run as a whole; null when nobody has (yet).</summary>
    public string? DecidedBy => _decidedBy;

    /// <summary>Where a run in progress is, as the audit log and <c>aida run</c> say it: <c>waiting for approval until …</c>,
    /// <c>at step 3 of 5</c>, <c>its restore waiting for the repair</c>, or, with actions waiting for an approver,
    /// <c>at step 1 of 2; A7 waits for an approver until …</c> or <c>its restore asked; A12 waits for an approver until …</c>
    /// (several: <c>A7 until …, A8 until … wait for an approver</c>);
    /// null for a run with nothing in progress.</summary>
    public string? Whereabouts => State switch
    {
        RunbookState.WaitingForApproval => $"waiting for approval until {WaitingUntil:O}",
        RunbookState.Running => $"at step {StepIndex + 1} of {Book.Steps.Count}" + Asking(_pending ?? []),
        RunbookState.Succeeded or RunbookState.RolledBack when RestoreWaiting => "its restore asked" + Asking(_restoreActions.SelectMany(r => r)),
        RunbookState.Succeeded or RunbookState.RolledBack when Book.Restores.Count > 0 && Restored is null => "its restore waiting for the repair",
        _ => null,
    };

    private string Asking(IEnumerable<ActionRecord> records)
    {
        var waiting = records.Where(r => r.State == ActionState.PendingApproval).ToList();
        return waiting.Count switch
        {
            0 => "",
            1 => $"; {waiting[0].Action.Id} waits for an approver until {waiting[0].ProposedAt + _approvalTimeout:O}",
            _ => $"; {string.Join(", ", waiting.Select(r => $"{r.Action.Id} until {r.ProposedAt + _approvalTimeout:O}"))} wait for an approver",
        };
    }

    /// <summary>Until when a run waiting for approval (<see cref="RunbookState.WaitingForApproval"/>) can be approved; null
    /// when it is not waiting.</summary>
    public DateTimeOffset? WaitingUntil => State == RunbookState.WaitingForApproval ? Started + _approvalTimeout : null;

    /// <summary>Gives the go-ahead to a runbook that needs one.</summary>
    /// <exception cref="ApprovalException">The run is not waiting for approval, or the approval came too late.</exception>
    public void Approve(string approver)
    {
        if (State != RunbookState.WaitingForApproval)
        {
            throw new ApprovalException($"runbook '{Book.Name}' is {State}, not waiting for approval");
        }

        if (_clock.GetUtcNow() - Started >= _approvalTimeout)
        {
            NotStarted("no approver answered in time");
            throw new ApprovalException($"runbook '{Book.Name}' expired at {(Started + _approvalTimeout):O}");
        }

        _audit?.Append("user:" + approver, AuditKind.Approval, "runbook:" + Book.Name, "approved");
        _decidedBy = approver;
        State = RunbookState.Running;
    }

    public void Reject(string approver, string? note = null)
    {
        if (State != RunbookState.WaitingForApproval)
        {
            throw new ApprovalException($"runbook '{Book.Name}' is {State}, not waiting for approval");
        }

        _audit?.Append("user:" + approver, AuditKind.Approval, "runbook:" + Book.Name, "rejected" + (note is null ? "" : ": " + note));
        _decidedBy = approver;
        NotStarted("rejected by " + approver);
    }

    public void Tick()
    {
        var now = _clock.GetUtcNow();
        if (State == RunbookState.WaitingForApproval && now - Started >= _approvalTimeout)
        {
            NotStarted("no approver answered in time");
        }

        TryRestore(now);

        while (State == RunbookState.Running)
        {
            if (StepIndex == Book.Steps.Count)
            {
                State = RunbookState.Succeeded;
                Finished = now;
                Audit(AuditKind.Result, "succeeded");
                return;
            }

            var step = Book.Steps[StepIndex];
            _stepStarted ??= now;
            var done = step switch
            {
                ActionStep a => Act(a),
                WaitStep w => now - _stepStarted >= w.Duration,
                CheckStep c => Check(c, now),
                NotifyStep n => Notify(n, null),
                _ => throw new InvalidOperationException($"unknown step {step}"),
            };
            if (!done)
            {
                return;
            }

            if (State == RunbookState.Running)
            {
                StepIndex++;
                _stepStarted = null;
                _checkHeldSince = null;
                _checkDeadline = null;
                _pending = null;
                _resumedValues = null;
                _resumedWaiting = null;
            }
        }
    }

    private bool Act(ActionStep step)
    {
        if (_pending is null)
        {
            _pending = [];
            var taken = TakeUpWaiting(_resumedWaiting ?? [], $"step {StepIndex + 1}") ?? [];
            _pending.AddRange(taken);
            foreach (var asset in Expand(step.Target))
            {
                if (taken.Exists(r => r.Action.Kind == step.Kind && r.Action.Asset == asset))
                {
                    continue;
                }

                PlantAction action;
                try
                {
                    var value = step.Value ?? 0;
                    if (_resumedValues?.TryGetValue(_catalog.Actuator(step.Kind, asset), out var before) == true)
                    {
                        value = before;
                    }
                    else if (step.Delta is { } delta)
                    {
                        var actuator = _catalog.Actuator(step.Kind, asset);
                        var current = _plant.Commanded(actuator);
                        if (double.IsNaN(current))
                        {
                            Fail($"step {StepIndex + 1} (line {step.Line}): {actuator} has no known value to move by {delta.ToString(CultureInfo.InvariantCulture)}");
                            return true;
                        }

                        value = current + delta;
                    }

                    action = _catalog.Create(step.Kind, asset, value, $"runbook {Book.Name}: {step.Reason}".TrimEnd(' ', ':'));
                }
                catch (ArgumentException e)
                {
                    Fail($"step {StepIndex + 1} (line {step.Line}): {e.Message}");
                    return true;
                }

                // A run a person approved as a whole takes their approval to its steps: one approval, not one more per
                // high-risk action (the leak's isolation asked twice, and the second expired unseen).
                var record = _executor.Propose(action, "runbook:" + Book.Name, _decidedBy);
                _pending.Add(record);
                Actions.Add(record);
            }
        }

        if (_pending.Any(r => r.State == ActionState.PendingApproval))
        {
            return false;
        }

        // A write refused only by a limit over the last minute (the actuator's change or the writes within a minute) may
        // pass once the minute has gone by: it is proposed again at each later tick while the step is younger than
        // RateLimitPatience, then fails as any refusal. On the faults week a heat-wave runbook's 1 K colder water came
        // 50 s after the optimiser's 0.1 K move: 1.1 K within a minute, refused, and the run rolled back and escalated.
        var now = _clock.GetUtcNow();
        var patient = now - _stepStarted < RateLimitPatience;
        for (var i = 0; patient && i < _pending.Count; i++)
        {
            var r = _pending[i];
            if (r.State == ActionState.Refused && r.Refusal == WriteStatus.RateLimited && r.ProposedAt < now)
            {
                var again = _executor.Propose(_catalog.Create(r.Action.Kind, r.Action.Asset, r.Action.Value, r.Action.Reason, r.Action.Verify), "runbook:" + Book.Name);
                _pending[i] = again;
                Actions.Add(again);
            }
        }

        if (_pending.FirstOrDefault(r => r.State is ActionState.Refused or ActionState.Rejected or ActionState.Expired
            && !(patient && r.Refusal == WriteStatus.RateLimited)) is { } bad)
        {
            Fail($"step {StepIndex + 1} (line {step.Line}): {bad.Action.Actuator} {bad.State}: {bad.Outcome}");
            return true;
        }

        return !_pending.Any(r => r.State == ActionState.Refused);
    }

    /// <summary>How long an action step keeps proposing a write refused by a limit over the last minute: two minutes, so
    /// the minute that refused it has gone by at the agent's one-minute period.</summary>
    private static readonly TimeSpan RateLimitPatience = TimeSpan.FromMinutes(2);

    // Since when the current check step's condition has held without a break (null: not holding).
    private DateTimeOffset? _checkHeldSince;

    // When the current check step, taken up after a restart, fails if not met (null: its start plus its within).
    private DateTimeOffset? _checkDeadline;

    /// <summary>The least time a check taken up after a restart past its deadline gets to read its point (beside its
    /// hold): one agent period, so the collectors of a site over the network have polled since the restart.</summary>
    public static readonly TimeSpan TakeUpLook = TimeSpan.FromMinutes(1);

    private bool Check(CheckStep step, DateTimeOffset now)
    {
        var (point, reading) = Worst(step.Point, step.Below);
        var threshold = Threshold(step.Threshold, step.RelativeTo);
        if (!double.IsNaN(reading) && !double.IsNaN(threshold) && (step.Below ? reading <= threshold : reading >= threshold))
        {
            _checkHeldSince ??= now;
            if (now - _checkHeldSince.Value >= step.For)
            {
                var held = step.For > TimeSpan.Zero ? $" for {step.For}" : "";
                Audit(AuditKind.Observation, $"check {point} = {reading.ToString("0.###", CultureInfo.InvariantCulture)}: met{held}");
                return true;
            }
        }
        else
        {
            _checkHeldSince = null;
        }

        if (now >= (_checkDeadline ?? _stepStarted + step.Within))
        {
            var what = step.For > TimeSpan.Zero ? $"not held for {step.For}" : "not met";
            var late = _checkDeadline is { } d && d > _stepStarted + step.Within ? $"; taken up after a restart, judged until {d:O}" : "";
            Fail($"step {StepIndex + 1} (line {step.Line}): {point} {(step.Below ? "<=" : ">=")} {Said(step.Threshold, step.RelativeTo, threshold)} {what} within {step.Within} (read {reading.ToString("0.###", CultureInfo.InvariantCulture)}{late})");
            return true;
        }

        return false;
    }

    /// <param name="severity">The notice's severity unless the step names one; null for its incident's.</param>
    private bool Notify(NotifyStep step, string? severity)
    {
        // In a dry run the steps before it proposed and wrote nothing: a notice saying "rack isolated" must not read as done.
        var message = (_executor.Mode == AutomationMode.DryRun ? "dry run, nothing written: " : "") + Bind(step.Message);
        Audit(AuditKind.Decision, "notify: " + message);
        Notices.Add(new RunbookNotice(_clock.GetUtcNow(), step.Line, message) { Severity = step.Severity ?? severity });
        return true;
    }

    private void Fail(string why)
    {
        Failure = why;
        Audit(AuditKind.Result, "failed: " + why + "; rolling back");
        RunAtOnce(Book.Rollback, "rollback", onlyWhatThisRunChanged: false);
        State = RunbookState.RolledBack;
        Finished = _clock.GetUtcNow();
    }

    /// <summary>After the run finished: once a restore entry's condition has held for its time without a break (the
    /// fault repaired, or a temporary measure no longer needed), its steps put back what this run changed.</summary>
    private void TryRestore(DateTimeOffset now)
    {
        if (Book.Restores.Count == 0 || State is not (RunbookState.Succeeded or RunbookState.RolledBack))
        {
            return;
        }

        if (_restoredAt.Length == 0)
        {
            _restoredAt = new DateTimeOffset?[Book.Restores.Count];
            _clearSince = new DateTimeOffset?[Book.Restores.Count];
        }

        if (_restoreActions.Length == 0)
        {
            _restoreActions = [.. Book.Restores.Select(_ => new List<ActionRecord>())];
            _refusedRestore = [.. Book.Restores.Select(_ => new List<(string, double)>())];
        }

        for (var i = 0; i < Book.Restores.Count; i++)
        {
            SettleRestore(i);
            if (_restoredAt[i] is not null)
            {
                continue;
            }

            var entry = Book.Restores[i];
            var when = entry.When;
            var (point, reading) = Worst(when.Point, when.Below);
            var threshold = Threshold(when.Threshold, when.RelativeTo);
            if (double.IsNaN(reading) || double.IsNaN(threshold) || !(when.Below ? reading <= threshold : reading >= threshold))
            {
                _clearSince[i] = null;
                continue;
            }

            _clearSince[i] ??= now;
            if (now - _clearSince[i]!.Value < when.For || StillRefused(i))
            {
                continue;
            }

            _restoredAt[i] = now;
            var held = $"{point} = {reading.ToString("0.###", CultureInfo.InvariantCulture)} {(when.Below ? "<=" : ">=")} {Said(when.Threshold, when.RelativeTo, threshold)} for {when.For}";
            var changed = ChangedByThisRun();
            if (entry.Steps.OfType<ActionStep>().Any() && !ActuatorsOf(entry.Steps).Any(a => changed.Contains(a) && !_released.Contains(a)))
            {
                // Nothing to put back (the N+1 pump failure that needed no rollback): no notification either.
                Audit(AuditKind.Observation, $"restore: {held}; this run changed nothing this restore puts back");
                continue;
            }

            // An entry of notifications alone announces the repair it waits for (the CDU's failed pumps).
            Audit(AuditKind.Observation, $"restore: {held}" + (entry.Steps.OfType<ActionStep>().Any() ? ": putting back what this run changed" : ""));
            // Its notifications go out once its actions are written (supervised: once a person approved them).
            _restoreActions[i] = RunAtOnce(entry.Steps, "restore", onlyWhatThisRunChanged: true, notify: false);
            if (_restoreActions[i].Count == 0)
            {
                NotifyAll(entry.Steps);
            }

            SettleRestore(i);
        }
    }

    /// <summary>Restore entry <paramref name="i"/>'s actions, once settled: written, the entry ran; refused, rejected or
    /// expired, the entry did not run, and it is asked again once its condition has held for its time again (audited).
    /// Regression: supervised, powering a leak's rack again waits for a person, and the entry counted as run when it was
    /// proposed: unanswered, it expired, and the agent resolved the incident as "what it changed restored" with the rack
    /// still isolated; a restart while it waited lost it for good.</summary>
    private void SettleRestore(int i)
    {
        var records = _restoreActions[i];
        if (records.Count == 0 || records.Exists(r => r.State == ActionState.PendingApproval))
        {
            return;
        }

        var declined = records.Where(r => r.State is ActionState.Refused or ActionState.Rejected or ActionState.Expired or ActionState.RolledBack).ToList();
        _restoreActions[i] = [];
        if (declined.Count == 0)
        {
            NotifyAll(Book.Restores[i].Steps);
            return;
        }

        _released.ExceptWith(declined.Select(r => r.Action.Actuator));
        _restoredAt[i] = null;
        _clearSince[i] = null;
        _refusedRestore[i] = [.. declined.Where(r => r.Refusal == WriteStatus.Refused).Select(r => (r.Action.Actuator, r.Action.Value))];
        var when = Book.Restores[i].When;
        var envelope = _refusedRestore[i].Count > 0 ? "the safety envelope would take it and " : "";
        Audit(AuditKind.Result, $"restore not done: {string.Join("; ", declined.Select(r => $"{r.Action.Actuator} {r.State}: {r.Outcome}"))}; asked again once {envelope}{Bind(when.Point)} has held for {when.For} again");
    }

    /// <summary>Whether the safety envelope would still refuse a write it refused when restore entry <paramref name="i"/>
    /// last ran. Regression: a standby CRAH's stop, refused while an efficiency freeze held (faults/crah-fan-failure),
    /// was proposed and refused again every 15 min for 6 h (23 refusals in the audit log); now the entry waits,
    /// silently, for the freeze to lift and runs at once when it does.</summary>
    private bool StillRefused(int i)
    {
        if (_refusedRestore[i].Count == 0)
        {
            return false;
        }

        if (_refusedRestore[i].Exists(w => !_plant.Judge(w.Actuator, w.Value).Allowed))
        {
            return true;
        }

        _refusedRestore[i] = [];
        return false;
    }

    /// <summary>The actuators this run wrote and the plant took.</summary>
    private HashSet<string> ChangedByThisRun()
    {
        var changed = Actions.Where(a => a.State is ActionState.Executed or ActionState.Verified or ActionState.Unverified).Select(a => a.Action.Actuator).ToHashSet(StringComparer.Ordinal);
        changed.UnionWith(_changedBefore);
        return changed;
    }

    /// <summary>The actuator an action of <paramref name="kind"/> on <paramref name="asset"/> writes (empty when none).</summary>
    private string Actuator(ActionKind kind, string asset)
    {
        try
        {
            return _catalog.Actuator(kind, asset);
        }
        catch (ArgumentException)
        {
            return "";
        }
    }

    /// <summary>Rollback or restore steps: actions proposed at once (waits and checks have no meaning while undoing) and
    /// notifications. A restore only writes an actuator this run wrote (and the plant took).</summary>
    private List<ActionRecord> RunAtOnce(IReadOnlyList<RunbookStep> steps, string what, bool onlyWhatThisRunChanged, bool notify = true)
    {
        var proposed = new List<ActionRecord>();
        var changed = ChangedByThisRun();
        foreach (var step in steps)
        {
            switch (step)
            {
                case ActionStep a:
                    foreach (var asset in Expand(a.Target))
                    {
                        try
                        {
                            var actuator = _catalog.Actuator(a.Kind, asset);
                            if (onlyWhatThisRunChanged)
                            {
                                if (!changed.Contains(actuator) || _released.Contains(actuator))
                                {
                                    continue;
                                }

                                // Let go of it either way: put back now, or left to the response that still holds it.
                                _released.Add(actuator);
                                if (HeldByOthers?.Invoke(actuator) == true)
                                {
                                    Audit(AuditKind.Observation, $"{what}: {actuator} left as it is: another response still holds it");
                                    continue;
                                }
                            }

                            var value = a.Value ?? (_plant.Commanded(actuator) + (a.Delta ?? 0));
                            var record = _executor.Propose(_catalog.Create(a.Kind, asset, value, $"runbook {Book.Name}: {what}" + (a.Reason.Length > 0 ? ": " + a.Reason : "")), "runbook:" + Book.Name);
                            Actions.Add(record);
                            proposed.Add(record);
                        }
                        catch (ArgumentException e)
                        {
                            Audit(AuditKind.Result, $"{what} step skipped: " + e.Message);
                        }
                    }

                    break;
                case NotifyStep n when notify:
                    // A rollback's notice is an escalation: what the runbook could not do, a person must.
                    Notify(n, what == "rollback" ? "critical" : "info");
                    break;
                default:
                    break;
            }
        }

        return proposed;
    }

    private void NotifyAll(IReadOnlyList<RunbookStep> steps)
    {
        foreach (var n in steps.OfType<NotifyStep>())
        {
            Notify(n, "info");
        }
    }

    private void NotStarted(string why)
    {
        Failure = why;
        State = RunbookState.NotStarted;
        Finished = _clock.GetUtcNow();
        Audit(AuditKind.Result, "not started: " + why);
    }

    private IReadOnlyList<string> Expand(string target) =>
        target.StartsWith('{') && target.EndsWith('}') ? _bindings.GetValueOrDefault(target[1..^1]) ?? [] : [target];

    /// <summary>The point a check or restore condition reads, and its reading; a point whose asset is a binding of many
    /// (<c>{racks_in_hall}/inlet_temperature</c>) reads each of them, and the one furthest from passing stands for all
    /// (the highest for <c>below</c>, the lowest for <c>above</c>). Points not reporting (NaN) are left out; none
    /// reporting is NaN.</summary>
    private (string Point, double Reading) Worst(string text, bool below)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var points = slash > 0 && text[0] == '{' && text[slash - 1] == '}'
            ? Expand(text[..slash]).Select(asset => asset + Bind(text[slash..])).ToList()
            : [Bind(text)];
        var worst = (Point: points.Count == 1 ? points[0] : text, Reading: double.NaN);
        foreach (var point in points)
        {
            var reading = _plant.ReadValue(point);
            if (!double.IsNaN(reading) && (double.IsNaN(worst.Reading) || (below ? reading > worst.Reading : reading < worst.Reading)))
            {
                worst = (point, reading);
            }
        }

        return worst;
    }

    /// <summary>A check's threshold now: absolute, or counted from the present reading of <paramref name="relativeTo"/>,
    /// or from its reading at the run's start (<c>@start</c>) (NaN while that point has no reading, or had none at the
    /// start: not met).</summary>
    private double Threshold(double threshold, string? relativeTo) =>
        relativeTo is null ? threshold
            : (_atStart.TryGetValue(relativeTo, out var atStart) ? atStart : _plant.ReadValue(Bind(relativeTo))) + threshold;

    /// <summary>A threshold as the audit says it: "30", or "facility-water/supply_setpoint + 1.5 (21.5)".</summary>
    private string Said(double threshold, string? relativeTo, double now) =>
        relativeTo is null ? threshold.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{Bind(relativeTo)} {(threshold < 0 ? "-" : "+")} {Math.Abs(threshold)} ({now:0.###})");

    private string Bind(string text)
    {
        foreach (var (name, values) in _bindings)
        {
            text = text.Replace("{" + name + "}", string.Join(",", values), StringComparison.Ordinal);
        }

        return text;
    }

    private void Audit(AuditKind kind, string detail)
    {
        _audited++;
        _audit?.Append("runbook:" + Book.Name, kind, Book.Name, detail);
    }
}
