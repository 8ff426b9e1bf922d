using Aida.Automation.Optimiser;
using Aida.Automation.Safety;
using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Reliability.OpenSlo;
using Aida.Reliability.Policy;
using Aida.Twin.Simulation;

namespace Aida.Automation.Tests.Optimiser;

/// <summary>UPS eco mode through the guard on the twin: only with the efficiency policy's leave and a steady utility,
/// back to double conversion within a minute of an outage, and not again until the utility has been steady for
/// <see cref="UpsModePolicy.SteadyFor"/>.</summary>
public class UpsModePolicyTests
{
    [Fact]
    public void EcoMode_WaitsForASteadyUtility_DropsWithinAMinuteOfAnOutage_AndComesBackOnlyAfterTheUtilityHeld()
    {
        // utility-a is lost from 2:00 to 2:30.
        var scenario = ScenarioLoader.Load("faults/utility-outage");
        var simulator = new Simulator(scenario, new SimulationOptions { NoOperator = true, Duration = TimeSpan.FromHours(3) + TimeSpan.FromMinutes(5) });
        var guarded = new GuardedPlant(simulator.Plant, new SafetyEnvelope(OptimiserLoop.Bundled, scenario.Factory), simulator.Clock, "agent:test", efficiency: () => OptimiserLoop.Expand);
        var policy = new UpsModePolicy(scenario.Factory);
        var ups = scenario.Factory.Power.Ups.Select(u => simulator.Plant.Actuator(u.Id + "/eco_mode")).ToArray();
        var ecoByMinute = new List<bool>();
        var perMinute = (long)Math.Round(60 / scenario.Step.TotalSeconds);
        while (!simulator.Finished)
        {
            foreach (var (actuator, value) in policy.Moves(simulator.Clock.GetUtcNow(), guarded, OptimiserLoop.Expand))
            {
                Assert.True(guarded.Write(actuator, value).Ok);
            }

            simulator.AdvanceSteps(perMinute);
            ecoByMinute.Add(ups.All(a => simulator.ActuatorTarget(a) >= 0.5));
            Assert.True(ecoByMinute[^1] || ups.All(a => simulator.ActuatorTarget(a) < 0.5), "the UPSes were left in different modes");
        }

        Assert.False(ecoByMinute[28], "eco mode before the utility had been watched for 30 min");
        Assert.True(ecoByMinute[31]);
        Assert.True(ecoByMinute[119]);
        Assert.False(ecoByMinute[121], "still in eco mode a minute into the outage");
        Assert.False(ecoByMinute[150 + 28], "eco mode again before the restored utility held 30 min");
        Assert.True(ecoByMinute[150 + 32]);
        var losses = simulator.Summary().EnergyBreakdownKwh["ups_losses"];
        Assert.True(losses > 0);
    }

    [Fact]
    public void WithoutThePolicysLeave_EcoModeIsNotWanted_AndTheGuardRefusesIt_ButDoubleConversionIsAlwaysAllowed()
    {
        var scenario = ScenarioLoader.Load("reference");
        var simulator = new Simulator(scenario, new SimulationOptions { NoOperator = true, Duration = TimeSpan.FromHours(1) });
        var envelope = OptimiserLoop.Freeze;
        var guarded = new GuardedPlant(simulator.Plant, new SafetyEnvelope(OptimiserLoop.Bundled, scenario.Factory), simulator.Clock, "agent:test", efficiency: () => envelope);
        var policy = new UpsModePolicy(scenario.Factory);
        policy.WantsEco(simulator.Clock.GetUtcNow(), guarded, envelope);
        simulator.AdvanceSteps((long)(TimeSpan.FromMinutes(40) / scenario.Step));
        Assert.False(policy.WantsEco(simulator.Clock.GetUtcNow(), guarded, envelope));
        Assert.True(policy.WantsEco(simulator.Clock.GetUtcNow(), guarded, OptimiserLoop.Expand));

        var ups = scenario.Factory.Power.Ups[0].Id + "/eco_mode";
        var refused = guarded.Write(ups, 1);
        Assert.False(refused.Ok);
        Assert.Contains("UPS eco mode is not allowed now", refused.Message, StringComparison.Ordinal);
        Assert.True(guarded.Write(ups, 0).Ok);
        envelope = OptimiserLoop.Expand;
        Assert.True(guarded.Write(ups, 1).Ok);
        envelope = OptimiserLoop.Freeze;
        Assert.True(guarded.Write(ups, 0).Ok, "going back to double conversion is a move toward safety");
    }

    [Fact]
    public void EcoMode_FollowsThePowerSlosBudgets_NotTheCoolingOnes()
    {
        // Regression (faults week): a budget spent on the cooling side held eco mode for days; eco mode's risk is a
        // utility disturbance, which only the power SLOs carry.
        var scenario = ScenarioLoader.Load("reference");
        var simulator = new Simulator(scenario, new SimulationOptions { NoOperator = true, Duration = TimeSpan.FromHours(1) });
        var coolingBurnt = EfficiencyPolicy.Evaluate(new BudgetState([
            new SloBudget("cdu-supply-class", 0.1, 20, 7, true, RiskDomains.Cooling),
            new SloBudget("power-redundancy", 1, 0, 0, false, RiskDomains.Power),
        ]));
        var powerBurnt = EfficiencyPolicy.Evaluate(new BudgetState([
            new SloBudget("cdu-supply-class", 1, 0, 0, false, RiskDomains.Cooling),
            new SloBudget("power-redundancy", 0.1, 20, 7, true, RiskDomains.Power),
        ]));
        var envelope = coolingBurnt;
        var guarded = new GuardedPlant(simulator.Plant, new SafetyEnvelope(OptimiserLoop.Bundled, scenario.Factory), simulator.Clock, "agent:test", efficiency: () => envelope);
        var policy = new UpsModePolicy(scenario.Factory);
        policy.WantsEco(simulator.Clock.GetUtcNow(), guarded, envelope);
        simulator.AdvanceSteps((long)(TimeSpan.FromMinutes(40) / scenario.Step));

        Assert.Equal(EfficiencyRegime.Freeze, coolingBurnt.Regime);
        Assert.True(policy.WantsEco(simulator.Clock.GetUtcNow(), guarded, coolingBurnt));
        var ups = scenario.Factory.Power.Ups[0].Id + "/eco_mode";
        Assert.True(guarded.Write(ups, 1).Ok);
        Assert.Contains("above the efficiency envelope's 20 °C", guarded.Write("facility-water/supply_setpoint", 21).Message, StringComparison.Ordinal);

        envelope = powerBurnt;
        Assert.Equal(EfficiencyRegime.Expand, powerBurnt.Regime);
        Assert.False(policy.WantsEco(simulator.Clock.GetUtcNow(), guarded, powerBurnt));
        Assert.True(guarded.Write(ups, 0).Ok);
        var refused = guarded.Write(ups, 1);
        Assert.False(refused.Ok);
        Assert.Contains("UPS eco mode is not allowed now (Freeze: power-redundancy", refused.Message, StringComparison.Ordinal);
    }
}
