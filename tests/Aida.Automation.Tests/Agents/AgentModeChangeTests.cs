using Aida.Automation.Actions;
using Aida.Automation.Agents;
using Aida.Model.Plant;
using static Aida.Automation.Tests.Agents.PlantAgentTests;

namespace Aida.Automation.Tests.Agents;

/// <summary>A person takes the controls back from the agent (dry run) and hands them over again, while it runs.</summary>
public sealed class AgentModeChangeTests
{
    [Fact]
    public void InADryRun_TheAgentPlansAndProposes_AndWritesNothing_UntilAPersonHandsItTheControlsAgain()
    {
        // h1-c03 leaks from 00:35 to 00:50. A person puts the agent in dry run at 00:05: its optimiser goes on planning
        // (audited as proposals) and its leak runbook proposes the isolation, but nothing reaches the plant; its notice
        // says it wrote nothing. At 01:00 an admin hands it the controls again: the optimiser's next plan is written.
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(80));
        var agent = site.Start(new() { ApproverDelay = TimeSpan.FromMinutes(3) });
        site.Advance(TimeSpan.FromMinutes(5));
        var written = agent.Plant.Passed;
        Assert.True(written > 0, "the optimiser wrote before the dry run");

        var change = agent.ChangeMode(AutomationMode.DryRun, "user:alice", "chiller maintenance: hands off");
        Assert.Equal((AutomationMode.Autonomous, AutomationMode.DryRun, "autonomous -> dry-run: chiller maintenance: hands off"), (change.From, change.To, change.Text));
        Assert.Contains(site.Audit.Read(), e => e.Actor == "user:alice" && e.Subject == "agent:mode" && e.Detail == change.Text);
        site.Advance(TimeSpan.FromMinutes(50));

        Assert.Equal(written, agent.Plant.Passed);
        Assert.True(agent.OptimiserProposals > 0);
        Assert.Contains(site.Audit.Read(), e => e.Actor == "agent:optimiser" && e.Detail.StartsWith("dry run, not written: ", StringComparison.Ordinal));
        Assert.Equal(0, site.Sim.Plant.ReadValue("h1-c03/isolated"));
        var leak = Assert.Single(agent.Responses);
        Assert.All(leak.Run.Actions, a => Assert.Equal(ActionState.Proposed, a.State));
        Assert.Contains(leak.Run.Actions, a => a.Action.Actuator == "h1-c03/isolate");
        Assert.StartsWith("dry run, nothing written: rack h1-c03: leak detected and rack isolated", leak.Run.Notices[0].Message, StringComparison.Ordinal);

        agent.ChangeMode(AutomationMode.Autonomous, "user:bob", "maintenance done");
        site.Advance(TimeSpan.FromMinutes(10));
        Assert.True(agent.Plant.Passed > written, "the optimiser writes again once handed the controls");
    }

    [Fact]
    public void AModeChange_NeedsAReason_ANewMode_AndNoMoreAutonomyThanTheAgentMayHave()
    {
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(5));
        var agent = site.Start(SupervisedByPeople with { HighestMode = AutomationMode.Supervised });

        Assert.Contains("say why", Assert.Throws<ArgumentException>(() => agent.ChangeMode(AutomationMode.DryRun, "user:alice", " ")).Message, StringComparison.Ordinal);
        Assert.Contains("the agent is supervised already", Assert.Throws<ArgumentException>(() => agent.ChangeMode(AutomationMode.Supervised, "user:alice", "x")).Message, StringComparison.Ordinal);
        Assert.Contains("this agent runs supervised at most (a site over the network), not autonomous",
            Assert.Throws<ArgumentException>(() => agent.ChangeMode(AutomationMode.Autonomous, "user:alice", "x")).Message, StringComparison.Ordinal);
        // Nor taken up from a kept change (a twin run's file on a network site's directory, say).
        Assert.Throws<ArgumentException>(() => agent.TakeUpMode(new ModeChange(AutomationMode.Supervised, AutomationMode.Autonomous, "user:alice", "x", site.Sim.Clock.GetUtcNow())));
        Assert.Equal(AutomationMode.Supervised, agent.Mode);
        Assert.Null(agent.LastModeChange);
    }

    [Fact]
    public void AKeptModeChange_IsTakenUpByTheAgentStartedAgain()
    {
        using var site = new RestartSite(LeakFrom35To50Minutes(), TimeSpan.FromMinutes(10));
        var path = Path.Combine(site.Dir, "agent-mode.json");
        var first = site.Start(new() { Optimise = false });
        KeptMode.Write(path, first.ChangeMode(AutomationMode.DryRun, "user:alice", "hands off"));

        var kept = KeptMode.Read(path)!;
        var second = site.Start(new() { Optimise = false });
        second.TakeUpMode(kept);

        Assert.Equal((AutomationMode.DryRun, "user:alice", "hands off"), (second.Mode, second.LastModeChange!.By, second.LastModeChange.Reason));
        Assert.Contains(site.Audit.Read(), e => e.Subject == "agent:mode" && e.Detail.StartsWith("taken up after a restart: dry-run, as user:alice set it at ", StringComparison.Ordinal));
        File.WriteAllText(path, """[{"from": "autonomous", "to": "reckless", "by": "x", "reason": "y", "at": "2025-07-01T00:00:00Z"}]""");
        Assert.Contains("entry 1: from and to (dry-run, supervised or autonomous), by, reason and at are required", Assert.Throws<FormatException>(() => KeptMode.Read(path)).Message, StringComparison.Ordinal);
    }
}
