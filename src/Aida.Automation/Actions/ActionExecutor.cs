using System.Globalization;
using Aida.Automation.Audit;
using Aida.Automation.Safety;
using Aida.Model.Plant;

namespace Aida.Automation.Actions;

/// <summary>How far the agents may go on their own.</summary>
public enum AutomationMode
{
    /// <summary>Propose only: every action is recorded and audited, none is written.</summary>
    DryRun,

    /// <summary>Low- and medium-risk actions run; high-risk ones wait for an approver.</summary>
    Supervised,

    /// <summary>Every action inside the safety envelope runs.</summary>
    Autonomous,
}

public enum ActionState
{
    /// <summary>Recorded in dry-run mode, not written.</summary>
    Proposed,

    PendingApproval,

    /// <summary>Written; its verification (if any) not yet due.</summary>
    Executed,

    /// <summary>Its verification held.</summary>
    Verified,

    /// <summary>Its verification failed in time, and the previous value was written back.</summary>
    RolledBack,

    /// <summary>The safety envelope (or the plant) refused it.</summary>
    Refused,

    Rejected,

    /// <summary>No approver answered in time.</summary>
    Expired,

    /// <summary>Its verification failed and it could not be rolled back (irreversible, or the previous value unknown).</summary>
    Unverified,
}

/// <summary>One proposed action and what became of it.</summary>
public sealed class ActionRecord(PlantAction action, string requestedBy, DateTimeOffset proposedAt)
{
    public PlantAction Action { get; } = action;

    public string RequestedBy { get; } = requestedBy;

    public DateTimeOffset ProposedAt { get; } = proposedAt;

    public ActionState State { get; internal set; }

    /// <summary>The actuator's value before the action (for rollback); NaN when not known.</summary>
    public double Previous { get; internal set; } = double.NaN;

    public DateTimeOffset? ExecutedAt { get; internal set; }

    /// <summary>Who approved or rejected it.</summary>
    public string? DecidedBy { get; internal set; }

    public string Outcome { get; internal set; } = "";

    /// <summary>Why the plant or its guard turned the write down (<see cref="ActionState.Refused"/>); null otherwise.</summary>
    public WriteStatus? Refusal { get; internal set; }
}

/// <summary>An approval that cannot be given: an unknown action, one no longer pending, or one that expired.</summary>
public sealed class ApprovalException(string message) : Exception(message)
{
    public ApprovalException() : this("approval refused")
    {
    }

    public ApprovalException(string message, Exception inner) : this(message + ": " + inner.Message)
    {
    }
}

/// <summary>An approver in simulation: approves (or rejects) every pending action once it has waited
/// <see cref="Delay"/>, as a person on call would after reading it.</summary>
public sealed class SimulatedApprover(ActionExecutor executor, TimeProvider clock, TimeSpan delay, bool approves = true, string name = SimulatedApprover.Name)
{
    /// <summary>The name it approves under, unless given another.</summary>
    public const string Name = "simulated-approver";

    public TimeSpan Delay { get; } = delay;

    public void Tick()
    {
        foreach (var r in executor.Pending)
        {
            if (clock.GetUtcNow() - r.ProposedAt >= Delay)
            {
                if (approves)
                {
                    executor.Approve(r.Action.Id, name);
                }
                else
                {
                    executor.Reject(r.Action.Id, name, "simulated rejection");
                }
            }
        }
    }
}

/// <summary>Runs typed actions through the safety choke point: proposes, holds risky ones for approval in supervised
/// mode, writes, verifies the effect within its time and rolls back when it does not come. Every step is audited.
/// Time comes from the clock; <see cref="Tick"/> is called by the agent loop.</summary>
public sealed class ActionExecutor
{
    private readonly GuardedPlant _plant;
    private readonly TimeProvider _clock;
    private readonly AuditLog? _audit;
    private readonly string _actor;
    private readonly Lock _lock = new();
    private readonly List<ActionRecord> _records = [];

    public ActionExecutor(GuardedPlant plant, TimeProvider clock, AutomationMode mode, TimeSpan approvalTimeout, string actor, AuditLog? audit = null)
    {
        _plant = plant ?? throw new ArgumentNullException(nameof(plant));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(approvalTimeout, TimeSpan.Zero);
        ArgumentException.ThrowIfNullOrEmpty(actor);
        Mode = mode;
        ApprovalTimeout = approvalTimeout;
        _actor = actor;
        _audit = audit;
    }

    /// <summary>How it acts on what is proposed from now on (<see cref="ChangeMode"/>).</summary>
    public AutomationMode Mode { get; private set; }

    /// <summary>Acts on what is proposed from now on in <paramref name="mode"/>; what waits for an approver waits on (a
    /// person's decision is theirs, whatever the agent's mode).</summary>
    internal void ChangeMode(AutomationMode mode)
    {
        lock (_lock)
        {
            Mode = mode;
        }
    }

    /// <summary>The guarded plant this executor writes through.</summary>
    public GuardedPlant Plant => _plant;

    public TimeSpan ApprovalTimeout { get; }

    public IReadOnlyList<ActionRecord> Records
    {
        get
        {
            lock (_lock)
            {
                return [.. _records];
            }
        }
    }

    public IReadOnlyList<ActionRecord> Pending => [.. Records.Where(r => r.State == ActionState.PendingApproval)];

    /// <summary>Called, under the executor's lock, with the actions waiting for an approver after each change to them
    /// (one held for approval, decided, expired or taken up): a live run keeps them for a restart
    /// (<see cref="KeptActions"/>, <see cref="TakeUp"/>).</summary>
    public Action<IReadOnlyList<ActionRecord>>? PendingChanged { get; set; }

    private void PendingMoved() => PendingChanged?.Invoke([.. _records.Where(r => r.State == ActionState.PendingApproval)]);

    /// <summary>Takes up an action an earlier run left waiting for an approver (Aida restarted): pending again under its
    /// id until the same time (<paramref name="proposedAt"/> + <see cref="ApprovalTimeout"/>; the time Aida was down
    /// counts); one whose time ran out meanwhile is expired at once. Audited either way; its proposal is in the audit log
    /// already.</summary>
    /// <exception cref="ArgumentException">An action of that id is known already, or this one would not wait for an
    /// approver here (not supervised, or not high risk).</exception>
    public ActionRecord TakeUp(PlantAction action, string requestedBy, DateTimeOffset proposedAt)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentException.ThrowIfNullOrEmpty(requestedBy);
        lock (_lock)
        {
            if (_records.Exists(r => r.Action.Id == action.Id))
            {
                throw new ArgumentException($"action '{action.Id}' is known already", nameof(action));
            }

            if (Mode != AutomationMode.Supervised || action.Risk != RiskClass.High)
            {
                throw new ArgumentException($"action '{action.Id}' ({Describe(action)}) would not wait for an approver here: only a high-risk action does, in supervised mode", nameof(action));
            }

            var until = proposedAt + ApprovalTimeout;
            var record = new ActionRecord(action, requestedBy, proposedAt) { State = ActionState.PendingApproval, Outcome = $"waiting for an approver until {until:O}" };
            _records.Add(record);
            if (_clock.GetUtcNow() >= until)
            {
                record.State = ActionState.Expired;
                record.Outcome = "no approver answered in time";
                Audit(AuditKind.Approval, action, $"expired while Aida was down (waited until {until:O})");
            }
            else
            {
                Audit(AuditKind.Approval, action, $"taken up after a restart: waiting for an approver until {until:O}");
            }

            PendingMoved();
            return record;
        }
    }

    /// <summary>Proposes an action: recorded (dry run), held for approval (supervised, high risk) or executed.</summary>
    /// <param name="approvedBy">A person who approved it already, as part of a runbook they approved as a whole: a
    /// high-risk action then runs without waiting for a second approval (recorded as decided by them).</param>
    public ActionRecord Propose(PlantAction action, string requestedBy, string? approvedBy = null)
    {
        ArgumentNullException.ThrowIfNull(action);
        lock (_lock)
        {
            if (_records.Exists(r => r.Action.Id == action.Id))
            {
                throw new ArgumentException($"action '{action.Id}' was already proposed", nameof(action));
            }

            var record = new ActionRecord(action, requestedBy, _clock.GetUtcNow());
            _records.Add(record);
            Audit(AuditKind.Decision, action, $"proposed by {requestedBy}: {Describe(action)} because {action.Reason}");
            if (Mode == AutomationMode.DryRun)
            {
                record.State = ActionState.Proposed;
                record.Outcome = "dry run: not written";
                return record;
            }

            if (Mode == AutomationMode.Supervised && action.Risk == RiskClass.High)
            {
                if (approvedBy is null)
                {
                    record.State = ActionState.PendingApproval;
                    record.Outcome = $"waiting for an approver until {(record.ProposedAt + ApprovalTimeout):O}";
                    Audit(AuditKind.Approval, action, "approval requested");
                    PendingMoved();
                    return record;
                }

                record.DecidedBy = approvedBy;
                Audit(AuditKind.Approval, action, $"approved with {requestedBy} by {approvedBy}");
            }

            Execute(record);
            return record;
        }
    }

    /// <summary>Approves a pending action, which then runs.</summary>
    /// <exception cref="ApprovalException">Unknown id, not pending, or expired.</exception>
    public ActionRecord Approve(string id, string approver) => Decide(id, approver, approve: true, note: null);

    /// <exception cref="ApprovalException">Unknown id, not pending, or expired.</exception>
    public ActionRecord Reject(string id, string approver, string? note = null) => Decide(id, approver, approve: false, note);

    /// <summary>Expires approvals nobody gave in time, and checks the verifications that are due: met means verified;
    /// not met by the deadline means the previous value is written back.</summary>
    public void Tick()
    {
        lock (_lock)
        {
            var now = _clock.GetUtcNow();
            var expired = false;
            foreach (var r in _records)
            {
                if (r.State == ActionState.PendingApproval && now - r.ProposedAt >= ApprovalTimeout)
                {
                    r.State = ActionState.Expired;
                    r.Outcome = "no approver answered in time";
                    Audit(AuditKind.Approval, r.Action, "expired");
                    expired = true;
                }
                else if (r.State == ActionState.Executed && r.Action.Verify is { } v)
                {
                    var reading = _plant.ReadValue(v.Point);
                    if (v.IsMet(reading))
                    {
                        r.State = ActionState.Verified;
                        r.Outcome = $"verified: {v.Point} = {Text(reading)}";
                        Audit(AuditKind.Result, r.Action, r.Outcome);
                    }
                    else if (now - r.ExecutedAt >= v.Within)
                    {
                        RollBack(r, $"not verified: {v} (read {Text(reading)})");
                    }
                }
            }

            if (expired)
            {
                PendingMoved();
            }
        }
    }

    private ActionRecord Decide(string id, string approver, bool approve, string? note)
    {
        ArgumentException.ThrowIfNullOrEmpty(approver);
        lock (_lock)
        {
            var r = _records.Find(x => x.Action.Id == id) ?? throw new ApprovalException($"unknown action '{id}'");
            if (r.State == ActionState.PendingApproval && _clock.GetUtcNow() - r.ProposedAt >= ApprovalTimeout)
            {
                r.State = ActionState.Expired;
                r.Outcome = "no approver answered in time";
                Audit(AuditKind.Approval, r.Action, "expired");
                PendingMoved();
            }

            if (r.State != ActionState.PendingApproval)
            {
                throw new ApprovalException(r.State == ActionState.Expired
                    ? $"action '{id}' expired at {(r.ProposedAt + ApprovalTimeout):O}"
                    : $"action '{id}' is {r.State}, not pending approval");
            }

            r.DecidedBy = approver;
            _audit?.Append("user:" + approver, AuditKind.Approval, r.Action.Id, (approve ? "approved" : "rejected") + (note is null ? "" : ": " + note));
            if (approve)
            {
                Execute(r);
            }
            else
            {
                r.State = ActionState.Rejected;
                r.Outcome = "rejected by " + approver + (note is null ? "" : ": " + note);
            }

            PendingMoved();
            return r;
        }
    }

    private void Execute(ActionRecord r)
    {
        var a = r.Action;
        r.Previous = _plant.Commanded(a.Actuator);
        var result = _plant.Write(a.Actuator, a.Value);
        if (!result.Ok)
        {
            r.State = ActionState.Refused;
            r.Refusal = result.Status;
            r.Outcome = $"{result.Status}: {result.Message}";
            return;
        }

        r.State = ActionState.Executed;
        r.ExecutedAt = _clock.GetUtcNow();
        r.Outcome = a.Verify is null ? "written" : $"written; verifying {a.Verify}";
    }

    private void RollBack(ActionRecord r, string why)
    {
        var a = r.Action;
        if (!a.Reversible || double.IsNaN(r.Previous))
        {
            r.State = ActionState.Unverified;
            r.Outcome = why + "; cannot be rolled back" + (a.Reversible ? " (previous value unknown)" : "");
            Audit(AuditKind.Result, a, r.Outcome);
            return;
        }

        var back = _plant.Write(a.Actuator, r.Previous);
        r.State = ActionState.RolledBack;
        r.Outcome = why + (back.Ok ? $"; rolled back to {Text(r.Previous)}" : $"; rollback {back.Status}: {back.Message}");
        Audit(AuditKind.Result, a, r.Outcome);
    }

    private void Audit(AuditKind kind, PlantAction a, string detail) => _audit?.Append(_actor, kind, a.Id, detail);

    private static string Describe(PlantAction a) => $"{a.Kind} {a.Asset}: {a.Actuator} = {Text(a.Value)} (risk {a.Risk}, {a.BlastRadiusRacks} racks)";

    private static string Text(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
