using System.Text.Json;
using Aida.Automation.Safety;
using Aida.Model.Config;
using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Twin.Simulation;
using static Aida.Cli.Tests.CliRun;

namespace Aida.Cli.Tests;

/// <summary>The safety campaign (issue 7): randomised fault scenarios, failed actuators, lying sensors and set points moved
/// at the panel included, with the agent autonomous, and not one write outside the safety envelope reaching the plant.</summary>
public class ChaosCommandTests
{
    [Fact]
    public void FiftyRandomisedFaultScenarios_WithFailedActuatorsAndLyingSensors_ReachThePlantWithNoSafetyViolation()
    {
        var dir = TempDir();
        var (code, output, err) = Invoke("chaos", "--scenarios", "50", "--seed", "1", "--duration", "50m", "--out", dir);
        Assert.True(code == 0, output + err);

        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "chaos.json"))).RootElement;
        Assert.Equal(50, report.GetProperty("scenarios").GetInt32());
        Assert.Equal(0, report.GetProperty("safety_violations").GetInt32());
        var runs = report.GetProperty("runs").EnumerateArray().ToArray();
        var kinds = runs.SelectMany(r => r.GetProperty("faults").EnumerateArray()).Select(f => f.GetProperty("kind").GetString()).ToArray();

        // The campaign is not a gentle one: failed actuators, every sensor fault, most of the plant's fault kinds, and
        // an agent that acts (the auditor judged real writes, and the guard refused some).
        Assert.True(kinds.Count(k => k == "actuator-failure") >= 10, string.Join(",", kinds));
        Assert.All(new[] { "sensor-stuck", "sensor-drift", "sensor-noise", "sensor-dropout" }, k => Assert.Contains(k, kinds));
        Assert.True(kinds.Distinct().Count() >= 14, string.Join(",", kinds.Distinct()));
        Assert.True(report.GetProperty("writes").GetInt32() > 50 * 100);

        // And set points moved at the panel behind the agent's back (another writer): with the guard blind to what the
        // plant reads back, campaign seed 1 of 60 min wrote a CDU set point 10 K from where a person had put it.
        Assert.True(report.GetProperty("panel_writes").GetInt32() >= 15, report.GetProperty("panel_writes").ToString());
        Assert.True(runs.Sum(r => r.GetProperty("agent_actions").GetInt32()) > 50);

        // And assets a person locked out (lockout/tagout), some of them the unit a fault struck: the auditor below the
        // guard counts any write that reached a locked-out asset as a violation.
        Assert.True(report.GetProperty("lockouts").GetInt32() >= 15, report.GetProperty("lockouts").ToString());
        Assert.Contains(runs.Where(r => r.TryGetProperty("lockout", out _)), r => r.GetProperty("faults").EnumerateArray()
            .Any(f => f.GetProperty("target").GetString()!.Split('/')[0] == r.GetProperty("lockout").GetProperty("asset").GetString()));
    }

    [Fact]
    public void Lockouts_AreDrawnFromTheAssetsTheAgentWrites_TheSameForTheSameSeed()
    {
        var template = AidaCommand.LoadScenario("reference") with { Duration = TimeSpan.FromMinutes(60) };
        var scenarios = ChaosCommand.Draw(template, 40, 5);
        var drawn = ChaosCommand.DrawLockouts(scenarios, 5);
        Assert.Equal(drawn, ChaosCommand.DrawLockouts(scenarios, 5));
        Assert.InRange(drawn.Count(l => l is not null), 10, 30);
        var plant = new Aida.Twin.Simulation.Simulator(template, new Aida.Twin.Simulation.SimulationOptions { Duration = TimeSpan.FromSeconds(1) }).Plant;
        Assert.All(drawn.OfType<ChaosCommand.ChaosLockout>(), l => Assert.Contains(plant.Actuators, a => a.Name.StartsWith(l.Asset + "/", StringComparison.Ordinal)));
        // Some start during the run, planned beforehand (the agent may write the asset until then), within its hour.
        var planned = drawn.OfType<ChaosCommand.ChaosLockout>().Where(l => l.After > TimeSpan.Zero).ToList();
        Assert.InRange(planned.Count, 2, 20);
        Assert.All(planned, l => Assert.InRange(l.After, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(59)));
        Assert.Contains("(planned)", planned[0].Describe(), StringComparison.Ordinal);
        // And some have the asset's next job booked after them, some back to back (the asset held throughout): two
        // lockouts of it, the second from the first's end.
        var next = drawn.OfType<ChaosCommand.ChaosLockout>().Where(l => l.Then is not null).ToList();
        Assert.Contains(next, l => l.Gap == TimeSpan.Zero);
        Assert.Contains(next, l => l.Gap > TimeSpan.Zero);
        var backToBack = next.First(l => l.Gap == TimeSpan.Zero);
        var booked = backToBack.Booked(template.Start);
        Assert.Equal((2, booked[0].Until), (booked.Count, booked[1].Since));
        Assert.Contains(", then back to back for ", backToBack.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void TheSameSeed_DrawsTheSameScenarios_AndAnotherSeedOthers()
    {
        var template = AidaCommand.LoadScenario("reference") with { Duration = TimeSpan.FromMinutes(60) };
        string Text(Scenario[] s) => string.Join("\n", s.Select(x => $"{x.Start:o} {x.Seed} {x.Description}"));
        Assert.Equal(Text(ChaosCommand.Draw(template, 10, 5)), Text(ChaosCommand.Draw(template, 10, 5)));
        Assert.NotEqual(Text(ChaosCommand.Draw(template, 10, 5)), Text(ChaosCommand.Draw(template, 10, 6)));
        Assert.All(ChaosCommand.Draw(template, 20, 5).SelectMany(s => s.Faults), f => Assert.InRange(f.Start, TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(50)));
    }

    [Fact]
    public void OnATowerPlant_EveryDrawnFaultNamesAnAssetItHas()
    {
        // Regression: the draw picked a dry cooler to foul from a factory with none and threw.
        var template = AidaCommand.LoadScenario("reference-tower") with { Duration = TimeSpan.FromMinutes(60) };
        var faults = ChaosCommand.Draw(template, 60, 7).SelectMany(s => s.Faults).ToList();
        var assets = template.Factory.Topology.AssetKinds.Keys.Append("site").ToHashSet(StringComparer.Ordinal);
        Assert.All(faults, f => Assert.Contains(f.Asset, assets));
        Assert.DoesNotContain(faults, f => f.Kind == FaultKind.DryCoolerFouling);
        Assert.True(faults.Select(f => f.Kind).Distinct().Count() >= 12);
    }

    [Theory]
    [InlineData("--scenarios", "0", "--scenarios")]
    [InlineData("--duration", "20m", "--duration")]
    [InlineData("--duration", "soon", "--duration")]
    [InlineData("--base", "no-such-scenario", "no-such-scenario")]
    public void BadInput_IsExit2_NamingTheOption(string option, string value, string named)
    {
        var (code, _, err) = Invoke("chaos", option, value);
        Assert.Equal(2, code);
        Assert.Contains(named, err, StringComparison.Ordinal);
    }

    /// <summary>The auditor can fail: each rule of the envelope it judges is broken once, below any guard.</summary>
    [Fact]
    public void TheAuditor_FindsEveryKindOfWriteOutsideTheEnvelope()
    {
        var scenario = AidaCommand.LoadScenario("reference") with
        {
            Duration = TimeSpan.FromMinutes(10),
            Faults = [new FaultSpec(FaultKind.ActuatorFailure, "site", "cdu-h1-b/supply_setpoint", TimeSpan.Zero, null, new Dictionary<string, double>(), 0)],
        };
        var simulator = new Simulator(scenario, new SimulationOptions { NoOperator = true, Duration = scenario.Duration });
        var spec = SafetyEnvelopeSpec.Load(BundledFiles.Shipped("safety", "envelope.yaml"));
        var auditor = new EnvelopeAuditor(simulator.Plant, spec, scenario.Factory, simulator.ActuatorTarget, simulator.Clock);
        simulator.AdvanceSteps(60);

        var setpoint = simulator.ActuatorTarget(auditor.Actuator("cdu-h1-a/supply_setpoint"));
        Assert.True(auditor.Write("cdu-h1-a/supply_setpoint", setpoint + 0.6).Ok);
        Assert.Equal(0, auditor.Violations);
        auditor.Write("cdu-h1-a/supply_setpoint", setpoint + 1.2); // 0.6 a write, but 1.2 within the minute
        Assert.Single(auditor.Findings, f => f.Contains("within a minute", StringComparison.Ordinal));

        simulator.AdvanceSteps(120);
        auditor.Write("cdu-h1-a/supply_setpoint", setpoint + 3.0); // a 1.8 K step
        Assert.Contains(auditor.Findings, f => f.Contains("per write", StringComparison.Ordinal));

        // A failed actuator does not move, so a write it ignores breaks no step rule; the step is judged on where the
        // actuator really is, not on what was last commanded.
        var failed = simulator.ActuatorTarget(auditor.Actuator("cdu-h1-b/supply_setpoint"));
        var before = auditor.Violations;
        auditor.Write("cdu-h1-b/supply_setpoint", failed + 5);
        Assert.Equal(before, auditor.Violations);

        auditor.Write("cdu-h1-a/pump_speed", 0.3);
        Assert.Contains(auditor.Findings, f => f.Contains("below the envelope's minimum", StringComparison.Ordinal));
        auditor.Write("cdu-h1-a/pump_speed", double.NaN);
        Assert.Contains(auditor.Findings, f => f.Contains("not a finite value", StringComparison.Ordinal));

        foreach (var chiller in scenario.Factory.Cooling.Chillers)
        {
            auditor.Write(chiller.Id + "/enable", 0);
        }

        auditor.Write("economiser/enable", 0);
        Assert.Contains(auditor.Findings, f => f.Contains("chiller(s) enabled with the economiser off", StringComparison.Ordinal));

        foreach (var rack in scenario.Factory.Racks.Take(spec.Interlocks.MaxRacksIsolated + 1))
        {
            auditor.Write(rack.Id + "/isolate", 1);
        }

        Assert.Contains(auditor.Findings, f => f.Contains("racks isolated at once", StringComparison.Ordinal));

        for (var i = 0; i <= spec.MaxWritesPerMinute; i++)
        {
            auditor.Write("cdu-h1-a/pump_speed", 1);
        }

        Assert.Contains(auditor.Findings, f => f.Contains("writes within a minute", StringComparison.Ordinal));

        // A write that reaches an asset a person holds locked out (the guard above refuses it; this one is below it).
        auditor.Lockouts = new Aida.Automation.Safety.Lockouts(auditor.Actuators.Select(a => Aida.Automation.Safety.Lockouts.AssetOf(a.Name)), simulator.Clock);
        auditor.Lockouts.Add("crah-h1-2", "api:alice", "filter change", null);
        auditor.Write("crah-h1-2/fan_speed", 0.8);
        Assert.Contains(auditor.Findings, f => f.Contains("crah-h1-2/fan_speed = 0.8", StringComparison.Ordinal) && f.Contains("written while crah-h1-2 is locked out by api:alice", StringComparison.Ordinal));

        // A lockout as booked, kept apart from the guard's: within its window a write is a violation even where the
        // guard's lockouts hold nothing (had the guard started it late); before its start it is not.
        var now = simulator.Clock.GetUtcNow();
        auditor.Booked = [new Aida.Automation.Safety.Lockout("cdu-h1-b", "chaos:technician", "chaos campaign", now.AddMinutes(10), null)];
        var foundBefore = auditor.Findings.Count;
        auditor.Write("cdu-h1-b/supply_setpoint", 24);
        Assert.DoesNotContain(auditor.Findings.Skip(foundBefore), f => f.Contains("booked", StringComparison.Ordinal));
        auditor.Booked = [new Aida.Automation.Safety.Lockout("cdu-h1-b", "chaos:technician", "chaos campaign", now, now.AddMinutes(10))];
        auditor.Write("cdu-h1-b/supply_setpoint", 24);
        Assert.Contains(auditor.Findings, f => f.Contains("cdu-h1-b/supply_setpoint = 24", StringComparison.Ordinal) && f.Contains("written within the lockout booked: cdu-h1-b is locked out by chaos:technician", StringComparison.Ordinal));
    }
}
