using Aida.Automation.Actions;
using Aida.Automation.Audit;
using Aida.Automation.Safety;
using Aida.Automation.Tests.Safety;
using Aida.Model.Plant;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Automation.Tests.Actions;

/// <summary>Typed actions run through the safety choke point: dry run, approvals in supervised mode, verification
/// and rollback, all audited.</summary>
public sealed class ActionExecutorTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly SafetyEnvelopeTests.RecordingPlant _plant = new();
    private readonly SafetyEnvelope _envelope;
    private readonly ActionCatalog _catalog;

    public ActionExecutorTests()
    {
        _envelope = new SafetyEnvelope(SafetyEnvelopeTests.Bundled, SafetyEnvelopeTests.Factory);
        _catalog = new ActionCatalog(SafetyEnvelopeTests.Factory, _envelope);
    }

    private ActionCatalog Catalog => _catalog;

    [Fact]
    public void ActionIds_CarryTheCatalogsPrefix_AndGoOnAfterAnEarlierRunsFromItsAuditLog()
    {
        // The agent's actions are A1, A2, …; those proposed through the API P1, P2, …: one run's ids never name two
        // actions. A run started again on the same audit log goes on after the highest id the earlier run gave.
        Assert.Equal(["A1", "A2"], new[] { Catalog.Create(ActionKind.StopUnit, "chiller-1", 0, "x").Id, Catalog.Create(ActionKind.StopUnit, "chiller-1", 0, "x").Id });
        var api = new ActionCatalog(SafetyEnvelopeTests.Factory, _envelope, "P");
        Assert.Equal("P1", api.Create(ActionKind.StopUnit, "chiller-1", 0, "x").Id);

        var path = Path.Combine(Path.GetTempPath(), "aida-action-ids", Guid.NewGuid().ToString("N"), "audit.db");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var audit = new AuditLog(path, _clock))
        {
            Assert.Equal(0, audit.HighestNumbered("A"));
            foreach (var subject in new[] { "A9", "A10", "P3", "A2", "A7x", "AB12", "incident 40", "runbook:leak" })
            {
                audit.Append("agent:aida", AuditKind.Decision, subject, "proposed");
            }

            Assert.Equal((10L, 3L, 12L), (audit.HighestNumbered("A"), audit.HighestNumbered("P"), audit.HighestNumbered("AB")));
            var again = new ActionCatalog(SafetyEnvelopeTests.Factory, _envelope, "A", audit.HighestNumbered("A"));
            Assert.Equal("A11", again.Create(ActionKind.StopUnit, "chiller-1", 0, "x").Id);
        }

        Assert.Contains("one or two capital letters, not 'a1'", Assert.Throws<ArgumentException>(() => new ActionCatalog(SafetyEnvelopeTests.Factory, _envelope, "a1")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Catalog_ResolvesActuatorRiskAndBlastRadius_AndNamesABadAsset()
    {
        var isolate = Catalog.Create(ActionKind.IsolateRack, "h1-a01", 1, "leak");
        Assert.Equal(("h1-a01/isolate", RiskClass.High, false, 1), (isolate.Actuator, isolate.Risk, isolate.Reversible, isolate.BlastRadiusRacks));
        var cdu = Catalog.Create(ActionKind.SetSpeed, "cdu-h1-a", 1, "flow low");
        Assert.Equal("cdu-h1-a/pump_speed", cdu.Actuator);
        Assert.Equal(SafetyEnvelopeTests.Factory.Racks.Count(r => r.Cdu == "cdu-h1-a"), cdu.BlastRadiusRacks);
        Assert.Equal(0, Catalog.Create(ActionKind.StopUnit, "chiller-1", 5, "staging").Value);

        Assert.Contains("unknown asset 'cdu-h9-z'", Assert.Throws<ArgumentException>(() => Catalog.Create(ActionKind.SetSpeed, "cdu-h9-z", 1, "x")).Message, StringComparison.Ordinal);
        Assert.Contains("does not apply to chiller-1", Assert.Throws<ArgumentException>(() => Catalog.Create(ActionKind.IsolateRack, "chiller-1", 1, "x")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SameIdTwice_IsRefused()
    {
        var executor = Executor(AutomationMode.Autonomous);
        var action = Catalog.Create(ActionKind.SetSpeed, "cdu-h1-a", 1, "flow low");
        executor.Propose(action, "agent:a");
        Assert.Contains("already proposed", Assert.Throws<ArgumentException>(() => executor.Propose(action, "agent:b")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DryRun_WritesNothing()
    {
        var executor = Executor(AutomationMode.DryRun);
        var r = executor.Propose(Catalog.Create(ActionKind.SetSetpoint, "cdu-h1-a", 31, "warmer water"), "agent:optimiser");
        Assert.Equal(ActionState.Proposed, r.State);
        Assert.Empty(_plant.Writes);
    }

    [Fact]
    public void Supervised_HoldsHighRisk_UntilApproved_AndRefusesBadApprovals()
    {
        var executor = Executor(AutomationMode.Supervised);
        var low = executor.Propose(Catalog.Create(ActionKind.SetSpeed, "cdu-h1-a", 1, "flow low"), "runbook:cdu-pump-failure");
        Assert.Equal(ActionState.Executed, low.State);
        var high = executor.Propose(Catalog.Create(ActionKind.IsolateRack, "h1-a01", 1, "leak at h1-a01"), "runbook:leak");
        Assert.Equal(ActionState.PendingApproval, high.State);
        Assert.DoesNotContain(_plant.Writes, w => w.Name == "h1-a01/isolate");

        Assert.Contains("unknown action 'A99'", Assert.Throws<ApprovalException>(() => executor.Approve("A99", "alice")).Message, StringComparison.Ordinal);
        executor.Approve(high.Action.Id, "alice");
        Assert.Equal(ActionState.Executed, high.State);
        Assert.Equal("alice", high.DecidedBy);
        Assert.Contains(_plant.Writes, w => w.Name == "h1-a01/isolate" && w.Value == 1);
        Assert.Contains("is Executed, not pending approval", Assert.Throws<ApprovalException>(() => executor.Approve(high.Action.Id, "bob")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Approval_AfterTheTimeout_IsRefusedAsExpired()
    {
        var executor = Executor(AutomationMode.Supervised);
        var high = executor.Propose(Catalog.Create(ActionKind.IsolateRack, "h1-a02", 1, "leak"), "runbook:leak");
        _clock.Advance(TimeSpan.FromMinutes(16));
        Assert.Contains("expired at 2025-07-01T00:15:00", Assert.Throws<ApprovalException>(() => executor.Approve(high.Action.Id, "alice")).Message, StringComparison.Ordinal);
        Assert.Equal(ActionState.Expired, high.State);
    }

    [Fact]
    public void SimulatedApprover_ApprovesAfterItsDelay()
    {
        var executor = Executor(AutomationMode.Supervised);
        var approver = new SimulatedApprover(executor, _clock, TimeSpan.FromMinutes(2));
        var high = executor.Propose(Catalog.Create(ActionKind.IsolateRack, "h1-a03", 1, "leak"), "runbook:leak");
        _clock.Advance(TimeSpan.FromMinutes(1));
        approver.Tick();
        Assert.Equal(ActionState.PendingApproval, high.State);
        _clock.Advance(TimeSpan.FromMinutes(1));
        approver.Tick();
        Assert.Equal(ActionState.Executed, high.State);
        Assert.Equal("simulated-approver", high.DecidedBy);
    }

    [Fact]
    public void FailedVerification_RollsBack_AndIsAudited()
    {
        var dir = Path.Combine(Path.GetTempPath(), "aida-action-tests", Guid.NewGuid().ToString("N"));
        using var audit = new AuditLog(Path.Combine(dir, "audit.db"), _clock);
        var guarded = new GuardedPlant(_plant, _envelope, _clock, "agent:test", audit);
        var executor = new ActionExecutor(guarded, _clock, AutomationMode.Autonomous, TimeSpan.FromMinutes(15), "agent:test", audit);
        Assert.True(guarded.Write("cdu-h1-a/supply_setpoint", 30).Ok);

        // The recording plant has no readings: the verification can never hold.
        var verify = new Verification("cdu-h1-a/supply_temperature", Below: true, 31, TimeSpan.FromMinutes(5));
        var r = executor.Propose(Catalog.Create(ActionKind.SetSetpoint, "cdu-h1-a", 31, "warmer water", verify), "agent:optimiser");
        executor.Tick();
        Assert.Equal(ActionState.Executed, r.State);
        _clock.Advance(TimeSpan.FromMinutes(5));
        executor.Tick();
        Assert.Equal(ActionState.RolledBack, r.State);
        Assert.Equal([30, 31, 30], _plant.Writes.Where(w => w.Name == "cdu-h1-a/supply_setpoint").Select(w => w.Value));
        Assert.Contains(audit.Read(), e => e.Detail.Contains("rolled back to 30", StringComparison.Ordinal));
        Assert.True(audit.Verify().Intact);
    }

    [Fact]
    public void OutsideTheEnvelope_IsRefused_NotWritten()
    {
        var executor = Executor(AutomationMode.Autonomous);
        var r = executor.Propose(Catalog.Create(ActionKind.SetSpeed, "cdu-h1-a", 0.35, "save pump power"), "agent:optimiser");
        Assert.Equal(ActionState.Refused, r.State);
        Assert.Contains("below the envelope's minimum 0.5", r.Outcome, StringComparison.Ordinal);
        Assert.Empty(_plant.Writes);
    }

    [Fact]
    public void AnActionWaitingForAnApprover_IsKeptForARestart_AndTakenUpUnderItsIdUntilTheSameTime()
    {
        // A restart of aida run used to drop the actions waiting for an approver: an approver's POST answered 404. Now
        // the executor hands its waiting actions to PendingChanged on each change (a live run keeps them in
        // pending-actions.json), and the executor of the run started again takes them up under the same id, waiting
        // until the same time; one whose time ran out while Aida was down is expired at once.
        var dir = Path.Combine(Path.GetTempPath(), "aida-kept-actions", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "pending-actions.json");
        var api = new ActionCatalog(SafetyEnvelopeTests.Factory, _envelope, "P");
        var first = Executor(AutomationMode.Supervised);
        var seen = new List<string>();
        first.PendingChanged = pending =>
        {
            seen.Add(string.Join(",", pending.Select(r => r.Action.Id)));
            KeptActions.Write(file, pending);
        };
        var drip = first.Propose(api.Create(ActionKind.IsolateRack, "h1-a01", 1, "technician reports a drip"), "api:ops");
        first.Propose(api.Create(ActionKind.SetSpeed, "cdu-h1-a", 0.9, "trim"), "api:ops"); // runs at once: not kept
        _clock.Advance(TimeSpan.FromMinutes(1));
        var stop = first.Propose(api.Create(ActionKind.StopUnit, "chiller-2", 0, "staging"), "api:ops");
        first.Reject(stop.Action.Id, "boss");
        Assert.Equal(["P1", "P1,P3", "P1"], seen);
        var kept = Assert.Single(KeptActions.Read(file));
        Assert.Equal(new KeptAction("P1", ActionKind.IsolateRack, "h1-a01", 1, "technician reports a drip", "api:ops", drip.ProposedAt), kept);

        // Aida down for 5 min; started again.
        _clock.Advance(TimeSpan.FromMinutes(5));
        var again = new ActionCatalog(SafetyEnvelopeTests.Factory, _envelope, "P");
        var second = Executor(AutomationMode.Supervised);
        var taken = second.TakeUp(again.CreateKept(kept.Id, kept.Kind, kept.Asset, kept.Value, kept.Reason), kept.RequestedBy, kept.ProposedAt);
        Assert.Equal((ActionState.PendingApproval, "P1", drip.ProposedAt), (taken.State, taken.Action.Id, taken.ProposedAt));
        Assert.Equal("P2", again.Create(ActionKind.StopUnit, "chiller-1", 0, "x").Id); // numbered on after it
        Assert.Contains("already", Assert.Throws<ArgumentException>(() => second.TakeUp(again.CreateKept("P1", ActionKind.IsolateRack, "h1-a01", 1, "x"), "api:ops", drip.ProposedAt)).Message, StringComparison.Ordinal);
        Assert.Contains("would not wait for an approver here", Assert.Throws<ArgumentException>(() => second.TakeUp(again.CreateKept("P7", ActionKind.SetSpeed, "cdu-h1-a", 0.9, "x"), "api:ops", drip.ProposedAt)).Message, StringComparison.Ordinal);
        Assert.Contains("not an action id of this catalog", Assert.Throws<ArgumentException>(() => again.CreateKept("A7", ActionKind.IsolateRack, "h1-a01", 1, "x")).Message, StringComparison.Ordinal);
        Assert.Contains("unknown asset", Assert.Throws<ArgumentException>(() => again.CreateKept("P8", ActionKind.IsolateRack, "h9-z99", 1, "x")).Message, StringComparison.Ordinal);
        Assert.Equal(ActionState.Executed, second.Approve("P1", "boss").State);
        Assert.Equal(1.0, _plant.Writes[^1].Value);

        // Down past its time: expired at once, never written.
        var late = Executor(AutomationMode.Supervised).TakeUp(again.CreateKept("P1", ActionKind.IsolateRack, "h1-a01", 1, "drip"), "api:ops", drip.ProposedAt - TimeSpan.FromMinutes(15));
        Assert.Equal((ActionState.Expired, "no approver answered in time"), (late.State, late.Outcome));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void KeptActions_ThatAreBroken_AreNamedByFileAndEntry()
    {
        var dir = Path.Combine(Path.GetTempPath(), "aida-kept-actions", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string Write(string json)
        {
            var path = Path.Combine(dir, "pending-actions.json");
            File.WriteAllText(path, json);
            return path;
        }

        Assert.Empty(KeptActions.Read(Path.Combine(dir, "none.json")));
        Assert.Contains("pending-actions.json: not a list of actions waiting for an approver", Assert.Throws<FormatException>(() => KeptActions.Read(Write("{"))).Message, StringComparison.Ordinal);
        const string Good = """{"id": "P1", "kind": "isolate_rack", "asset": "h1-a01", "value": 1, "reason": "drip", "requested_by": "api:ops", "proposed_at": "2025-07-01T00:00:00+00:00"}""";
        Assert.Single(KeptActions.Read(Write($"[{Good}]")));
        Assert.Contains("entry 2: id, kind, asset, value, reason, requested_by and proposed_at are required",
            Assert.Throws<FormatException>(() => KeptActions.Read(Write("[" + Good + ", " + """{"id": "P2", "kind": "isolate_rack"}""" + "]"))).Message, StringComparison.Ordinal);
        Assert.Contains("entry 1: kind: unknown action 'unplug'",
            Assert.Throws<FormatException>(() => KeptActions.Read(Write($"[{Good.Replace("isolate_rack", "unplug", StringComparison.Ordinal)}]"))).Message, StringComparison.Ordinal);
        Directory.Delete(dir, recursive: true);
    }

    private ActionExecutor Executor(AutomationMode mode) =>
        new(new GuardedPlant(_plant, _envelope, _clock, "agent:test"), _clock, mode, TimeSpan.FromMinutes(15), "agent:test");
}
