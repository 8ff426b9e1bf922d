using Aida.Model.Scenarios;
using Aida.Twin.Simulation;

namespace Aida.Cli.Tests;

public sealed class SummaryTableTests
{
    [Fact]
    public void AnAgentRunWhoseDetectionRoundsFailed_SaysSoInItsTable_AndOneWithoutSaysNothing()
    {
        // Before session 35 a simulated run's failed detection rounds were audited only: its table and summary.json said
        // nothing, though each such round found its faults late.
        var summary = new Simulator(ScenarioLoader.Load("reference"), new SimulationOptions { NoOperator = true, Duration = TimeSpan.FromMinutes(1) }).Run();
        string Table(int failures)
        {
            var w = new StringWriter();
            SummaryTable.Write(w, summary with { Agent = new AgentOutcome(0, 0, double.NaN, double.NaN, 0, 0, 0, 0, 0) { DetectionFailures = failures } });
            return w.ToString();
        }

        Assert.Contains("3 rounds could not read their telemetry (audited; each read again at the next round)", Table(3), StringComparison.Ordinal);
        Assert.DoesNotContain("could not read their telemetry", Table(0), StringComparison.Ordinal);
    }
}
