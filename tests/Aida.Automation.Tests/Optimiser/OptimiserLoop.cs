using Aida.Automation.Optimiser;
using Aida.Automation.Safety;
using Aida.Model.Config;
using Aida.Model.Scenarios;
using Aida.Reliability.Policy;
using Aida.Twin.Simulation;

namespace Aida.Automation.Tests.Optimiser;

/// <summary>Drives the <see cref="CoolingOptimiser"/> against the twin with nobody else operating it: every minute it
/// observes, every <see cref="CoolingOptimiserOptions.Step"/> it plans and writes through a <see cref="GuardedPlant"/>
/// holding the bundled safety envelope and the given efficiency envelope.</summary>
internal sealed class OptimiserLoop
{
    public static readonly Scenario Reference = ScenarioLoader.Load("reference");

    public static SafetyEnvelopeSpec Bundled => SafetyEnvelopeSpec.Load(BundledFiles.Shipped("safety", "envelope.yaml"));

    /// <summary>The policy's envelope at full headroom (docs/slos.md: caps 32 °C water and CDU, every action class).</summary>
    public static EfficiencyEnvelope Expand { get; } = new(EfficiencyRegime.Expand, 32, 32, EfficiencyActions.SetpointRaise | EfficiencyActions.PumpAndFanTrim | EfficiencyActions.Staging | EfficiencyActions.UpsEco, 0.02, 1, false, null, "test: full headroom");

    /// <summary>The policy's freeze: the safe envelope (20 °C water, 28 °C CDU), nothing toward efficiency.</summary>
    public static EfficiencyEnvelope Freeze { get; } = new(EfficiencyRegime.Freeze, 20, 28, EfficiencyActions.None, 0, 0, true, "rack-inlet-envelope", "test: fast burn");

    public OptimiserLoop(TimeSpan duration, EfficiencyEnvelope envelope, Func<Aida.Model.Plant.IPlant, Aida.Model.Plant.IPlant>? wrap = null, Scenario? scenario = null)
    {
        scenario ??= Reference;
        Simulator = new Simulator(scenario, new SimulationOptions { NoOperator = true, Duration = duration });
        Envelope = envelope;
        Guarded = new GuardedPlant(Simulator.Plant, new SafetyEnvelope(Bundled, scenario.Factory), Simulator.Clock, "agent:optimiser", efficiency: () => Envelope);
        Plant = wrap is null ? Guarded : wrap(Guarded);
        Optimiser = new CoolingOptimiser(scenario.Factory, Bundled);
    }

    public Simulator Simulator { get; }

    public GuardedPlant Guarded { get; }

    /// <summary>What the optimiser reads and writes: the guarded plant, or a wrapper around it (faulty sensors, failing writes).</summary>
    public Aida.Model.Plant.IPlant Plant { get; }

    public CoolingOptimiser Optimiser { get; }

    public EfficiencyEnvelope Envelope { get; set; }

    public List<OptimiserPlan> Plans { get; } = [];

    /// <summary>Called with each plan before it is applied (for test output).</summary>
    public Action<OptimiserPlan, Aida.Model.Plant.IPlant>? Trace { get; init; }

    public int Accepted { get; private set; }

    public int Refused { get; private set; }

    public SimulationSummary Run()
    {
        var stepSeconds = Simulator.Scenario.Step.TotalSeconds;
        var perMinute = (long)Math.Round(60 / stepSeconds);
        var planEvery = (int)Math.Round(new CoolingOptimiserOptions().Step.TotalMinutes);
        var minute = 0;
        while (!Simulator.Finished)
        {
            Simulator.AdvanceSteps(perMinute);
            minute++;
            var now = Simulator.Clock.GetUtcNow();
            Optimiser.Observe(now, Plant);
            if (minute % planEvery == 0)
            {
                var plan = Optimiser.Plan(now, Plant, Envelope);
                Plans.Add(plan);
                Trace?.Invoke(plan, Plant);
                foreach (var (_, result) in Optimiser.Apply(plan, Plant))
                {
                    if (result.Ok)
                    {
                        Accepted++;
                    }
                    else
                    {
                        Refused++;
                    }
                }
            }
        }

        return Simulator.Summary();
    }

    public static SimulationSummary Baseline(OperatingMode mode, TimeSpan duration, Scenario? scenario = null) =>
        new Simulator(scenario ?? Reference, new SimulationOptions { Mode = mode, Duration = duration }).Run();

    public static double OverheadKwh(SimulationSummary s) => s.FacilityEnergyKwh - s.ItEnergyKwh;
}
