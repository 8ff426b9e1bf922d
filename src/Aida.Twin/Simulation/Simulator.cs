using Aida.Model.Plant;
using Aida.Model.Scenarios;
using Aida.Twin.Operators;
using Aida.Twin.Plant;
using Aida.Twin.Weather;
using Aida.Twin.Workload;

namespace Aida.Twin.Simulation;

/// <summary>Options of one simulated run; null keeps the scenario's value.</summary>
public sealed record SimulationOptions
{
    public OperatingMode Mode { get; init; } = OperatingMode.Human;

    public TimeSpan? Duration { get; init; }

    public int? Seed { get; init; }

    /// <summary>Called about every 1 % of the run with the fraction done.</summary>
    public Action<double>? Progress { get; init; }

    /// <summary>Run the plant without any operator (for benchmarks and physics tests).</summary>
    public bool NoOperator { get; init; }

    /// <summary>Standing setpoints that replace the operator's own (null fields keep them); a fix may still move a
    /// setpoint for a while, and the operator restores it to this value. For sweeps such as <c>aida frontier</c>.</summary>
    public StandingSetpoints? Setpoints { get; init; }
}

/// <summary>Setpoints held for a whole run; null keeps the operator's.</summary>
public sealed record StandingSetpoints(double? FacilityWaterSupplyCelsius = null, double? CduSupplyCelsius = null, double? CrahSupplyCelsius = null);

/// <summary>Runs a scenario on the virtual clock: workload, faults, plant physics and an operator, in one deterministic loop.</summary>
public sealed class Simulator
{
    private const double OperatorIntervalSeconds = 10;

    private readonly Scenario _scenario;
    private readonly SimulationOptions _options;
    private readonly PlantModel _plant;
    private readonly WorkloadModel _workload;
    private readonly BaselineOperator? _operator;
    private Aida.Model.Plant.IPlantAgent? _agent;
    private readonly List<(double At, FaultSpec Fault, bool Active)> _events;

    public Simulator(Scenario scenario, SimulationOptions options)
    {

        _scenario = scenario with
        {
            Seed = options.Seed ?? scenario.Seed,
            Duration = options.Duration ?? scenario.Duration,
        };
        _options = options;
        var s = _scenario;
        Clock = new VirtualClock(s.Start);
        IWeatherSource weather = s.Weather.EpwPath is { } epw
            ? EpwWeather.Load(epw, s.Start)
            : new SyntheticWeather(s.Weather.Synthetic, s.Start, s.Factory.Site.Longitude);
        _plant = new PlantModel(s, weather);
        _plant.ValidateScenario(s);

        _workload = new WorkloadModel(s.Workload, s.Factory.Racks.Count, s.Start, unchecked((s.Seed * 7919) + 17));
        if (!options.NoOperator && options.Mode != OperatingMode.Agent)
        {
            var profile = options.Mode == OperatingMode.Digital ? OperatorProfile.Digital : OperatorProfile.Human;
            if (options.Setpoints is { } pinned)
            {
                profile = profile.Holding(pinned);
            }

            _operator = new BaselineOperator(profile, _plant, s.Factory, Clock, unchecked((s.Seed * 104729) + 3));
        }

        _events = [];
        foreach (var f in s.Faults)
        {
            _events.Add((f.Start.TotalSeconds, f, true));
            if (f.End is { } end)
            {
                _events.Add((end.TotalSeconds, f, false));
            }
        }

        _events.Sort((a, b) => a.At.CompareTo(b.At));
        // Planned writes in time order (the file's order among equal times), each after the faults of its step.
        _writes = [.. s.Writes.Select(w => (w.At.TotalSeconds, _plant.Actuator(w.Actuator), w.Value)).OrderBy(w => w.TotalSeconds)];
    }

    private readonly (double At, int Actuator, double Value)[] _writes;
    private int _nextWrite;

    public VirtualClock Clock { get; }

    /// <summary>The plant as a site's control system sees it: readings and actuators only.</summary>
    public Aida.Model.Plant.IPlant Plant => _plant;

    /// <summary>The value the twin holds as <paramref name="actuator"/>'s target: ground truth, for an audit of the writes
    /// that reach the plant (the agent and the analytics never read it).</summary>
    public double ActuatorTarget(int actuator) => _plant.ActuatorTarget(actuator);

    /// <summary>Sends every sensor sample, and every GPU at the scenario's GPU telemetry interval, to <paramref name="sink"/>.
    /// Call before the first step.</summary>
    public void RecordTo(Aida.Model.Plant.IPlantSampleSink sink)
    {
        if (_begun)
        {
            throw new InvalidOperationException("telemetry must be attached before the run starts");
        }

        _plant.AttachSink(sink, _scenario.GpuTelemetryInterval);
    }

    /// <summary>The plant's GPUs, for labelling their telemetry.</summary>
    public Aida.Model.Plant.IGpuCatalog GpuCatalog => _plant;

    internal PlantModel Model => _plant;

    /// <summary>Total steps in the run.</summary>
    public long Steps => (long)Math.Ceiling(_scenario.Duration.TotalSeconds / _scenario.Step.TotalSeconds);

    /// <summary>Steps taken so far.</summary>
    public long StepsDone => _k;

    public bool Finished => _k >= Steps;

    public Scenario Scenario => _scenario;

    private long _k;
    private int _nextEvent;
    private bool _begun;

    /// <summary>Runs to the end of the scenario (or until cancelled) and summarises.</summary>
    public SimulationSummary Run(CancellationToken cancellationToken = default)
    {
        var steps = Steps;
        var progressEvery = Math.Max(1, steps / 100);
        while (_k < steps)
        {
            AdvanceSteps(Math.Min(progressEvery, steps - _k));
            _options.Progress?.Invoke((double)_k / steps);
            cancellationToken.ThrowIfCancellationRequested();
        }

        return Summary();
    }

    /// <summary>In agent mode, the agent that operates the plant (it was built on <see cref="Plant"/>, the same
    /// <see cref="Aida.Model.Plant.IPlant"/> real sites present): ticked every 10 s of plant time. Before the first step.</summary>
    public void AttachAgent(Aida.Model.Plant.IPlantAgent agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        if (_options.Mode != OperatingMode.Agent || _begun)
        {
            throw new InvalidOperationException(_begun ? "attach the agent before the first step" : $"an agent operates only in agent mode, not {_options.Mode}");
        }

        _agent = agent;
    }

    /// <summary>Advances the virtual clock by up to <paramref name="count"/> steps (never past the end of the scenario).</summary>
    public void AdvanceSteps(long count)
    {
        if (_options.Mode == OperatingMode.Agent && !_options.NoOperator && _agent is null)
        {
            throw new InvalidOperationException("agent mode needs an agent attached (aida simulate --mode agent attaches Aida's)");
        }

        var dt = _scenario.Step.TotalSeconds;
        var stepSpan = _scenario.Step;
        var operatorEvery = Math.Max(1, (long)Math.Round(OperatorIntervalSeconds / dt));
        if (!_begun)
        {
            _begun = true;
            _operator?.Begin();
            _workload.Step(0, dt);
            _workload.Utilisation.CopyTo(_plant.RackUtilisation);
            _plant.Settle();
            foreach (var k in _takenUp)
            {
                _plant.RestoreActuator(_plant.FindActuator(k.Actuator), k.Command, k.Target, k.Value);
            }
        }

        var end = Math.Min(Steps, _k + count);
        for (; _k < end; _k++)
        {
            var now = _k * dt;
            while (_nextEvent < _events.Count && _events[_nextEvent].At <= now)
            {
                var e = _events[_nextEvent++];
                _plant.ApplyFault(e.Fault, e.Active);
            }

            while (_nextWrite < _writes.Length && _writes[_nextWrite].At <= now)
            {
                var (_, actuator, value) = _writes[_nextWrite++];
                _plant.Write(actuator, value);
            }

            _workload.Step(now, dt, _plant.RackPlacement);
            _workload.Utilisation.CopyTo(_plant.RackUtilisation);
            _workload.PlantStalled.CopyTo(_plant.RackJobStalled);
            _plant.Step(dt);
            Clock.Advance(stepSpan);
            if ((_k + 1) % operatorEvery == 0)
            {
                _operator?.Tick();
                _agent?.Tick(Clock.GetUtcNow());
            }
        }
    }

    private IReadOnlyList<KeptActuator> _takenUp = [];

    /// <summary>The actuators moved from where the run began (by an operator, an agent, a scheduled write), each with its
    /// command, target and value: what the twin started again on the same data takes up (<see cref="TakeUp"/>).</summary>
    public IReadOnlyList<KeptActuator> MovedActuators() =>
        [.. _plant.MovedActuators().Select(m => new KeptActuator(_plant.Actuators[m.Actuator].Name, m.Command, m.Target, m.Value))];

    /// <summary>Starts the plant with <paramref name="kept"/> actuators where an earlier run of the twin left them (a
    /// rack isolated stays isolated, a set point where it was written), as a real plant does while its operator
    /// restarts; before the first step.</summary>
    /// <exception cref="ArgumentException">An actuator the plant does not have, or a value outside its range; the message
    /// names it and the entry.</exception>
    /// <exception cref="InvalidOperationException">The run has begun.</exception>
    public void TakeUp(IReadOnlyList<KeptActuator> kept)
    {
        if (_begun)
        {
            throw new InvalidOperationException("the twin takes its actuators up before its first step");
        }

        for (var i = 0; i < kept.Count; i++)
        {
            var k = kept[i];
            var index = _plant.FindActuator(k.Actuator);
            if (index < 0)
            {
                throw new ArgumentException($"entry {i + 1}: '{k.Actuator}' is no actuator of {_scenario.Factory.Name}");
            }

            try
            {
                _plant.CheckRestore(index, k.Command, k.Target, k.Value);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"entry {i + 1}: {e.Message}", e);
            }
        }

        _takenUp = kept;
    }

    /// <summary>The summary of the run so far.</summary>
    public SimulationSummary Summary() => Summarise(_k * _scenario.Step.TotalSeconds);

    private SimulationSummary Summarise(double seconds)
    {
        const double kwh = 3.6e6;
        var t = _plant.Totals;
        var stats = _operator?.Stats ?? new OperatorStats();
        var breakdown = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["it"] = t.ItJoules / kwh,
            ["chillers"] = t.ChillerJoules / kwh,
            ["dry_cooler_fans"] = t.DryCoolerJoules / kwh,
            ["facility_water_pumps"] = t.FacilityPumpJoules / kwh,
            ["cdu_pumps"] = t.CduPumpJoules / kwh,
            ["crah_fans"] = t.CrahFanJoules / kwh,
            ["transformer_losses"] = t.TransformerLossJoules / kwh,
            ["ups_losses"] = t.UpsLossJoules / kwh,
            ["busway_losses"] = t.BuswayLossJoules / kwh,
            ["lighting_and_office"] = t.MiscJoules / kwh,
        };
        if (_scenario.Factory.Cooling.EvaporativeEconomiser)
        {
            breakdown["cooling_tower_fans"] = t.CoolingTowerJoules / kwh;
            breakdown["condenser_pumps"] = t.CondenserPumpJoules / kwh;
        }
        return new SimulationSummary
        {
            Scenario = _scenario.Name,
            Factory = _scenario.Factory.Name,
            Mode = _options.NoOperator ? "none" : _options.Mode.ToString().ToLowerInvariant(),
            Seed = _scenario.Seed,
            DurationSeconds = seconds,
            StepSeconds = _scenario.Step.TotalSeconds,
            ItEnergyKwh = t.ItJoules / kwh,
            FacilityEnergyKwh = t.FacilityJoules / kwh,
            CoolingEnergyKwh = t.CoolingJoules / kwh,
            ElectricalLossesKwh = t.LossJoules / kwh,
            MiscEnergyKwh = t.MiscJoules / kwh,
            Pue = t.ItJoules > 0 ? t.FacilityJoules / t.ItJoules : double.NaN,
            EnergyBreakdownKwh = breakdown,
            MaxRackInletCelsius = t.MaxRackInlet,
            MaxGpuTemperatureCelsius = t.MaxGpuTemp,
            MaxFacilityWaterSupplyCelsius = t.MaxFacilityWaterSupply,
            GpuThrottledSeconds = t.GpuThrottledSeconds,
            GpuShutdownSeconds = t.GpuShutdownSeconds,
            GpuPausedSeconds = t.GpuPausedSeconds,
            GpuCappedSeconds = t.GpuCappedSeconds,
            RackUnpoweredSeconds = t.ItUnpoweredRackSeconds,
            UpsOnBatterySeconds = t.UpsOnBatterySeconds,
            MinUpsBatteryRatio = t.MinUpsBattery,
            EconomiserHours = t.EconomiserSeconds / 3600,
            HeatRejectedKwh = t.HeatRejectedJoules / kwh,
            HeatIntoFacilityWaterKwh = t.HeatIntoWaterJoules / kwh,
            WaterLitres = t.WaterLitres,
            TrainingInterruptions = _workload.Interruptions,
            TrainingPlantRestarts = _workload.PlantRestarts,
            Operator = new OperatorSummary(
                _options.Mode.ToString().ToLowerInvariant(), stats.AlarmsRaised, stats.AlarmsNoticed, stats.AlarmsFixed,
                stats.ManualActions, stats.WrongFixes, stats.Writes,
                stats.AlarmsNoticed > 0 ? stats.NoticeSeconds / stats.AlarmsNoticed : 0,
                stats.AlarmsFixed > 0 ? stats.FixSeconds / stats.AlarmsFixed : 0),
            // The faults that began within the run: one shortened with --duration does not list (and score) those it
            // never reached.
            Faults = _scenario.Faults
                .Where(f => f.Start.TotalSeconds < seconds)
                .Select(f => new FaultRecord(f.KindName, f.Point ?? f.Asset, f.Start.TotalSeconds, f.End?.TotalSeconds))
                .ToList(),
        };
    }
}
