using Aida.Automation.Actions;
using Aida.Automation.Runbooks;
using Aida.Automation.Safety;
using Aida.Automation.Tests.Safety;

namespace Aida.Automation.Tests.Actions;

/// <summary>Pausing or moving a rack's workload: typed actions on one rack, reversible, within the envelope's blast radius, and
/// usable from a runbook.</summary>
public class PauseWorkloadTests
{
    private readonly ActionCatalog _catalog = new(SafetyEnvelopeTests.Factory, new SafetyEnvelope(SafetyEnvelopeTests.Bundled, SafetyEnvelopeTests.Factory));

    [Fact]
    public void PauseWorkload_ActsOnOneRack_AndCanBeUndone()
    {
        var pause = _catalog.Create(ActionKind.PauseWorkload, "h1-a01", 1, "CDU pumps lost");
        Assert.Equal(("h1-a01/workload_pause", RiskClass.Medium, true, 1), (pause.Actuator, pause.Risk, pause.Reversible, pause.BlastRadiusRacks));
        Assert.Contains("does not apply to cdu-h1-a", Assert.Throws<ArgumentException>(() => _catalog.Create(ActionKind.PauseWorkload, "cdu-h1-a", 1, "x")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MoveWorkload_ActsOnOneRack_AndCanBeUndone_AndARunbookCanAskIt()
    {
        var move = _catalog.Create(ActionKind.MoveWorkload, "h1-a01", 1, "CDU pumps lost");
        Assert.Equal(("h1-a01/workload_move", RiskClass.Medium, true, 1), (move.Actuator, move.Risk, move.Reversible, move.BlastRadiusRacks));
        Assert.Contains("does not apply to cdu-h1-a", Assert.Throws<ArgumentException>(() => _catalog.Create(ActionKind.MoveWorkload, "cdu-h1-a", 1, "x")).Message, StringComparison.Ordinal);
        var runbook = Runbook.Parse("name: m\ntriggers: [cdu-pump-failure]\nsteps:\n  - {action: move_workload, target: \"{racks}\", value: 1}\n", SafetyEnvelopeTests.Factory);
        Assert.Equal(ActionKind.MoveWorkload, Assert.IsType<ActionStep>(runbook.Steps[0]).Kind);
    }

    [Fact]
    public void ARunbook_CanPauseTheRacksOfACdu()
    {
        var yaml = """
            name: pause-racks
            description: hold the jobs of a CDU's racks while its pumps are lost
            triggers: [cdu-pump-failure]
            steps:
              - {action: pause_workload, target: "{racks}", value: 1, reason: take the heat off the CDU}
            rollback:
              - {action: pause_workload, target: "{racks}", value: 0}
            """;
        var runbook = Runbook.Parse(yaml, SafetyEnvelopeTests.Factory);
        Assert.Equal(ActionKind.PauseWorkload, Assert.IsType<ActionStep>(runbook.Steps[0]).Kind);
    }
}
