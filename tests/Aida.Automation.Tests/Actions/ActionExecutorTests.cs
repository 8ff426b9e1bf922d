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
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
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

    private ActionExecutor Executor(AutomationMode mode) =>
        new(new GuardedPlant(_plant, _envelope, _clock, "agent:test"), _clock, mode, TimeSpan.FromMinutes(15), "agent:test");
}
