using System.Globalization;
using Aida.Automation.Safety;
using Aida.Model.Facility;
using Aida.Model.Plant;
using Aida.Reliability.Policy;

namespace Aida.Automation.Optimiser;

/// <summary>Model-predictive control of the cooling plant: facility-water, CDU and CRAH supply setpoints, CDU pump,
/// CRAH fan and facility-water pump speeds, the economiser, standby CRAHs and chiller staging, minimising predicted
/// facility power over a receding horizon subject to GPU, rack-inlet and CDU-supply limits with the margin the
/// efficiency envelope sets (docs/optimiser.md).</summary>
/// <remarks>
/// Its model is identified online (<see cref="Observe"/>) from <see cref="IPlant"/> points and the factory file only.
/// <see cref="Plan"/> searches a small discrete set of rate-limited moves, each held as a ramp across the horizon
/// (move blocking), and keeps the first step of the cheapest ramp whose predicted temperatures stay within limits;
/// when none does, the least-violating one, which moves back toward safety. Writes go through <see cref="Apply"/> to
/// the <see cref="GuardedPlant"/> the caller hands it; a refused write leaves the optimiser at its last accepted value.
/// Deterministic: no clock, no randomness; time comes in as arguments.
/// </remarks>
public sealed class CoolingOptimiser
{
    // Violation weight: 10 MW of predicted facility power per kelvin over a limit, far above any power difference
    // between candidates (the whole cooling overhead of ref-10mw is ~1-2 MW), so a safe candidate always wins.
    private const double ViolationMwPerKelvin = 10;

    // Tie-break against needless moves: 1 kW per unit of normalised move, below the model's resolution of power.
    private const double MoveMw = 1e-3;

    private readonly Factory _factory;
    private readonly SafetyEnvelopeSpec? _spec;
    private readonly CoolingOptimiserOptions _options;
    private readonly Dictionary<string, double> _accepted = new(StringComparer.Ordinal);

    // The load window the limits are judged at: 60 observations (an hour at one a minute) spans a training job's
    // restart (15 min in the reference scenario) and its checkpoint dips (90 s every 30 min).
    private readonly RecentPeakLoad _peaks = new(60);
    private CoolingPoints? _points;
    private IdentifiedCoolingModel? _model;
    private Bounds _bounds;
    private int _screened;

    /// <param name="factory">The factory file (topology, design values for the model's priors, GPU limits).</param>
    /// <param name="spec">The safety envelope's spec, whose hard limits and steps bound the search (null: the plant's
    /// actuator ranges only); the <see cref="GuardedPlant"/> still judges every write.</param>
    /// <param name="options">Horizon, margins and steps; null for the defaults.</param>
    public CoolingOptimiser(Factory factory, SafetyEnvelopeSpec? spec = null, CoolingOptimiserOptions? options = null)
    {
        _factory = factory ?? throw new ArgumentNullException(nameof(factory));
        _spec = spec;
        _options = options ?? new CoolingOptimiserOptions();
    }

    /// <summary>Observations taken into the model so far.</summary>
    public int Observations => _model?.Observations ?? 0;

    /// <summary>The identified model's parameters, one line (empty before the first observation).</summary>
    public string DescribeModel() => _model?.Describe() ?? "";

    /// <summary>Takes the plant's current readings, with the settings last accepted, into the identified model.</summary>
    public void Observe(DateTimeOffset now, IPlant plant)
    {
        ArgumentNullException.ThrowIfNull(plant);
        Begin(plant);
        var snapshot = _points!.Read(plant, observe: true);
        var u = Current(snapshot);
        _screened = _model!.Screen(snapshot, u);
        _model.Observe(snapshot, u);
        _peaks.Add(snapshot);
    }

    /// <summary>Plans the next moves under <paramref name="envelope"/>; writes nothing.</summary>
    public OptimiserPlan Plan(DateTimeOffset now, IPlant plant, EfficiencyEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(plant);
        ArgumentNullException.ThrowIfNull(envelope);
        Begin(plant);
        var s = _points!.Read(plant, observe: false);
        var u0 = Current(s);
        var model = _model!;
        var o = _options;
        var screened = Math.Max(_screened, model.Screen(s, u0));
        var groups = Math.Max(1, s.CduMaxGpu.Length + s.HallMaxInlet.Length);
        var blind = !(s.MissingShare <= o.MaxMissingShare) || !(screened <= o.MaxMissingShare * groups) || !double.IsFinite(s.ItMw);
        // Hold and Expand differ only by what the envelope allows (Allowed, the caps); a freeze allows nothing whatever
        // its flags say, and neither does a plant the optimiser cannot see.
        var expand = envelope.Regime != EfficiencyRegime.Freeze && !blind;
        var raise = expand && envelope.Allowed.HasFlag(EfficiencyActions.SetpointRaise);
        var trim = expand && envelope.Allowed.HasFlag(EfficiencyActions.PumpAndFanTrim);
        var staging = expand && envelope.Allowed.HasFlag(EfficiencyActions.Staging);
        var tightness = 1 - Math.Clamp(envelope.Headroom, 0, 1);
        var gpuLimit = _factory.Gpu.ThrottleCelsius - o.GpuMarginCelsius - (o.GpuMarginAtNoHeadroomCelsius * tightness);
        var inletLimit = o.InletLimitCelsius - (o.InletMarginCelsius * (1 + (2 * tightness)));
        var cduLimit = envelope.MaxCduSupplyCelsius;
        var waterCap = Math.Min(_bounds.WaterHi, envelope.MaxFacilityWaterSupplyCelsius);
        var cduCap = Math.Min(_bounds.CduHi, envelope.MaxCduSupplyCelsius);

        // Offset-free prediction: what the model under-predicts now (measured above predicted) is carried as a
        // disturbance into every candidate; an over-prediction is kept as margin, never spent.
        var now0 = model.Predict(s, u0);
        var peak = _points.Read(plant, observe: false);
        _peaks.RaiseToPeak(peak);
        var gpuOffset = Offset(Max(s.CduMaxGpu), now0.MaxGpu);
        var inletOffset = Offset(Max(s.HallMaxInlet), now0.MaxInlet);
        var cduOffset = Offset(Max(s.CduSupply), now0.MaxCduSupply);

        // Standby CRAHs: at the same airflow, n fans at speed f/n' draw n f³: more running units at lower speed save
        // power (affinity laws), and a unit more is a move toward safety. Started when trimming is allowed.
        var crahs = trim ? _factory.Cooling.Crahs.Select((_, i) => i).Count(i => !s.CrahFault[i]) : u0.Crahs;
        crahs = Math.Max(crahs, u0.Crahs);
        var economiser = u0.Economiser || staging;

        double Charge(CoolingPrediction p, out double violation)
        {
            violation = Math.Max(0, p.MaxGpu + gpuOffset - gpuLimit) + Math.Max(0, p.MaxInlet + inletOffset - inletLimit)
                + Math.Max(0, p.MaxCduSupply + cduOffset - cduLimit);
            return p.FacilityMw + (ViolationMwPerKelvin * violation);
        }

        double sp = o.SetpointStepCelsius, sv = o.SpeedStep;
        ReadOnlySpan<double> waterMoves = [-2 * sp, -sp, 0, sp, 2 * sp];
        ReadOnlySpan<double> unit = [-1, 0, 1];
        var best = (Cost: double.PositiveInfinity, U: u0, P: now0, Violation: 0.0);
        foreach (var dw in waterMoves)
        {
            if (!Allowed(u0.FacilityWater, dw, _bounds.WaterLo, waterCap, raise))
            {
                continue;
            }

            foreach (var dc in unit)
            {
                if (!Allowed(u0.CduSupply, dc * sp, _bounds.CduLo, cduCap, raise))
                {
                    continue;
                }

                foreach (var da in unit)
                {
                    if (!Allowed(u0.CrahSupply, da * sp, _bounds.CrahLo, _bounds.CrahHi, raise))
                    {
                        continue;
                    }

                    foreach (var dp in unit)
                    {
                        if (!Allowed(-u0.CduPump, -dp * sv, -_bounds.PumpHi, -_bounds.PumpLo, trim))
                        {
                            continue;
                        }

                        foreach (var df in unit)
                        {
                            if (!Allowed(-u0.CrahFan, -df * sv, -_bounds.FanHi, -_bounds.FanLo, trim))
                            {
                                continue;
                            }

                            foreach (var dq in unit)
                            {
                                if (!Allowed(-u0.FacilityPump, -dq * sv, -_bounds.FwPumpHi, -_bounds.FwPumpLo, trim))
                                {
                                    continue;
                                }

                                // Two continuations of the first move over the horizon: hold it, or keep ramping at the
                                // same rate; the candidate costs the cheaper one (each step charged its violations).
                                CoolingSettings At(CoolingSettings u, int k) => new(
                                    Ramp(u.FacilityWater, dw, k, _bounds.WaterLo, waterCap),
                                    Ramp(u.CduSupply, dc * sp, k, _bounds.CduLo, cduCap),
                                    Ramp(u.CrahSupply, da * sp, k, _bounds.CrahLo, _bounds.CrahHi),
                                    Ramp(u.CduPump, dp * sv, k, _bounds.PumpLo, _bounds.PumpHi),
                                    Ramp(u.CrahFan, df * sv, k, _bounds.FanLo, _bounds.FanHi),
                                    Ramp(u.FacilityPump, dq * sv, k, _bounds.FwPumpLo, _bounds.FwPumpHi),
                                    economiser,
                                    crahs);

                                var first = At(u0, 1);
                                var firstPrediction = model.Predict(s, first, peak);
                                var held = Charge(firstPrediction, out var violation) * o.HorizonSteps;
                                var ramped = Charge(firstPrediction, out _);
                                var rampViolation = violation;
                                for (var k = 2; k <= o.HorizonSteps && ramped < held; k++)
                                {
                                    ramped += Charge(model.Predict(s, At(u0, k), peak), out var v);
                                    rampViolation += v;
                                }

                                var cost = Math.Min(held, ramped);
                                if (blind)
                                {
                                    // Unable to see the racks: restore full pumps and fans (the design state) as fast
                                    // as the steps allow, whatever the power.
                                    cost = -(dp + df + dq);
                                }

                                violation = ramped < held ? rampViolation : violation * o.HorizonSteps;
                                cost += MoveMw * (Math.Abs(dw / sp) + Math.Abs(dc) + Math.Abs(da) + Math.Abs(dp) + Math.Abs(df) + Math.Abs(dq));
                                if (cost < best.Cost)
                                {
                                    best = (cost, first, firstPrediction, violation);
                                }
                            }
                        }
                    }
                }
            }
        }

        var chosen = best.U;
        var moves = new List<OptimiserMove>();
        var why = best.Violation > 0 ? "predicted limits reached: back toward safety" : "cheapest safe ramp over the horizon";
        AddMoves(moves, chosen, s, why);
        StageChillers(moves, s, chosen, staging);
        var towardSafety = !expand || moves.TrueForAll(IsTowardSafety);
        var reason = string.Create(CultureInfo.InvariantCulture,
            $"{envelope.Regime}{(blind ? " (readings missing or stuck: no move toward efficiency)" : "")}: {why}; water {chosen.FacilityWater:0.0} °C, CDU {chosen.CduSupply:0.0} °C, CRAH {chosen.CrahSupply:0.0} °C, pumps {chosen.CduPump:0.00}, fans {chosen.CrahFan:0.00} x{chosen.Crahs}, facility pumps {chosen.FacilityPump:0.00}; GPU ≤ {gpuLimit:0.0} °C, inlet ≤ {inletLimit:0.0} °C");
        var pred = best.P;
        return new OptimiserPlan(now, moves, pred.FacilityMw * 1e6, pred.OverheadMw * 1e6, pred.MaxGpu + gpuOffset, pred.MaxInlet + inletOffset, pred.FacilityWaterSupply, towardSafety, reason);
    }

    /// <summary>Writes the plan's moves through <paramref name="guarded"/> (the <see cref="GuardedPlant"/>); an accepted
    /// write becomes the optimiser's value for that actuator, a refused or failed one leaves the last accepted value.</summary>
    public IReadOnlyList<(OptimiserMove Move, WriteResult Result)> Apply(OptimiserPlan plan, IPlant guarded)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(guarded);
        var results = new List<(OptimiserMove, WriteResult)>(plan.Moves.Count);
        foreach (var move in plan.Moves)
        {
            var result = guarded.Write(move.Actuator, move.Value);
            if (result.Ok)
            {
                _accepted[move.Actuator] = move.Value;
            }

            results.Add((move, result));
        }

        return results;
    }

    private void Begin(IPlant plant)
    {
        if (_points is not null)
        {
            return;
        }

        _points = new CoolingPoints(_factory, plant);
        _model = new IdentifiedCoolingModel(_factory, _points);
        var c = _factory.Cooling;
        (double Lo, double Hi) Range(string name, double lo, double hi)
        {
            var i = plant.Actuator(name);
            if (i >= 0)
            {
                lo = Math.Max(lo, plant.Actuators[i].Min);
                hi = Math.Min(hi, plant.Actuators[i].Max);
            }

            if (_spec?.RuleFor(name) is { } rule)
            {
                lo = Math.Max(lo, rule.Min ?? lo);
                hi = Math.Min(hi, rule.Max ?? hi);
            }

            return (lo, hi);
        }

        var cdu = c.Cdus.Count > 0 ? c.Cdus[0].Id : "cdu";
        var crah = c.Crahs.Count > 0 ? c.Crahs[0].Id : "crah";
        var water = Range("facility-water/supply_setpoint", double.NegativeInfinity, double.PositiveInfinity);
        var cduSp = Range(cdu + "/supply_setpoint", double.NegativeInfinity, double.PositiveInfinity);
        var crahSp = Range(crah + "/supply_setpoint", double.NegativeInfinity, double.PositiveInfinity);
        var pump = Range(cdu + "/pump_speed", 0, 1);
        var fan = Range(crah + "/fan_speed", 0, 1);
        var fwPump = Range("facility-water/pump_speed", 0, 1);
        _bounds = new Bounds(water.Lo, water.Hi, cduSp.Lo, cduSp.Hi, crahSp.Lo, crahSp.Hi, pump.Lo, pump.Hi, fan.Lo, fan.Hi, fwPump.Lo, fwPump.Hi);

        // Starting values: the plant's read-back setpoints; speeds and CRAH setpoints have no read-back point, so
        // they start at the design state (full speed, the factory's CRAH setpoint) until the optimiser writes them.
        // A read-back outside the search bounds is not believed (a lying or failed sensor): the design value stands.
        double ReadBack(string name, double fallback, double lo = 0, double hi = 1) => plant.ReadValue(name) is var v && v >= lo && v <= hi ? v : fallback;
        _accepted["facility-water/supply_setpoint"] = ReadBack("facility-water/supply_setpoint", c.FacilityWater.SupplySetpointCelsius, water.Lo, water.Hi);
        _accepted["facility-water/pump_speed"] = 1;
        _accepted["economiser/enable"] = ReadBack("economiser/enabled", 1);
        foreach (var u in c.Cdus)
        {
            _accepted[u.Id + "/supply_setpoint"] = ReadBack(u.Id + "/supply_setpoint", u.SupplySetpointCelsius, cduSp.Lo, cduSp.Hi);
            _accepted[u.Id + "/pump_speed"] = 1;
        }

        foreach (var u in c.Crahs)
        {
            _accepted[u.Id + "/supply_setpoint"] = u.SupplySetpointCelsius;
            _accepted[u.Id + "/fan_speed"] = 1;
            _accepted[u.Id + "/enable"] = ReadBack(u.Id + "/running", u.Standby ? 0 : 1);
        }

        foreach (var u in c.Chillers)
        {
            _accepted[u.Id + "/enable"] = ReadBack(u.Id + "/running", u.Standby ? 0 : 1);
        }
    }

    /// <summary>The plant-wide settings in force, judged conservatively from the last accepted values: the warmest
    /// setpoint and the slowest pump or fan of each group.</summary>
    private CoolingSettings Current(CoolingSnapshot s)
    {
        var c = _factory.Cooling;
        double Group(IEnumerable<string> names, bool warmest) => names.Select(n => _accepted.GetValueOrDefault(n, double.NaN)).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Aggregate(warmest ? Math.Max : Math.Min);
        var running = 0;
        for (var i = 0; i < c.Crahs.Count; i++)
        {
            running += s.CrahRunning[i] || _accepted.GetValueOrDefault(c.Crahs[i].Id + "/enable") >= 0.5 ? 1 : 0;
        }

        return new CoolingSettings(
            _accepted["facility-water/supply_setpoint"],
            Group(c.Cdus.Select(u => u.Id + "/supply_setpoint"), warmest: true),
            Group(c.Crahs.Select(u => u.Id + "/supply_setpoint"), warmest: true),
            Group(c.Cdus.Select(u => u.Id + "/pump_speed"), warmest: false),
            Group(c.Crahs.Select(u => u.Id + "/fan_speed"), warmest: false),
            _accepted["facility-water/pump_speed"],
            _accepted["economiser/enable"] >= 0.5,
            Math.Max(1, running));
    }

    private void AddMoves(List<OptimiserMove> moves, CoolingSettings u, CoolingSnapshot s, string why)
    {
        var c = _factory.Cooling;
        var steps = _spec is null ? null : new Func<string, double>(n => _spec.RuleFor(n)?.MaxStep ?? double.PositiveInfinity);
        void Move(string actuator, double target, string reason)
        {
            var last = _accepted.GetValueOrDefault(actuator, double.NaN);
            if (double.IsFinite(last))
            {
                // A unit that lags its group (an earlier write refused) closes the gap by at most one envelope step.
                var step = steps?.Invoke(actuator) ?? double.PositiveInfinity;
                target = Math.Clamp(target, last - step, last + step);
                if (Math.Abs(target - last) < 1e-9)
                {
                    return;
                }
            }

            moves.Add(new OptimiserMove(actuator, Math.Round(target, 3), reason));
        }

        Move("facility-water/supply_setpoint", Math.Clamp(u.FacilityWater, _bounds.WaterLo, _bounds.WaterHi), why);
        Move("facility-water/pump_speed", u.FacilityPump, why);
        if (u.Economiser && _accepted["economiser/enable"] < 0.5)
        {
            Move("economiser/enable", 1, "economiser ahead of the chillers: free cooling whenever the return is warmer than ambient + approach");
        }

        foreach (var cdu in c.Cdus)
        {
            Move(cdu.Id + "/supply_setpoint", Math.Clamp(u.CduSupply, _bounds.CduLo, _bounds.CduHi), why);
            Move(cdu.Id + "/pump_speed", u.CduPump, why);
        }

        for (var i = 0; i < c.Crahs.Count; i++)
        {
            var id = c.Crahs[i].Id;
            if (s.CrahFault[i])
            {
                continue;
            }

            if (!s.CrahRunning[i] && _accepted.GetValueOrDefault(id + "/enable") < 0.5 && CountRunning(s) < u.Crahs)
            {
                Move(id + "/enable", 1, "standby CRAH on: the same airflow from more fans at lower speed (fan power ~ speed³)");
            }

            Move(id + "/supply_setpoint", Math.Clamp(u.CrahSupply, _bounds.CrahLo, _bounds.CrahHi), why);
            Move(id + "/fan_speed", u.CrahFan, why);
        }
    }

    /// <summary>Chiller staging by capacity: start a standby when the predicted chiller load passes 80 % of the running
    /// capacity (a move toward safety, always allowed); stop one when the rest carry the load under 50 % of theirs and
    /// the envelope allows staging. 80/50 % leave a band so that a unit does not cycle (and a restart takes minutes).</summary>
    private void StageChillers(List<OptimiserMove> moves, CoolingSnapshot s, CoolingSettings u, bool staging)
    {
        var chillers = _factory.Cooling.Chillers;
        if (chillers.Count == 0 || !double.IsFinite(s.ItMw))
        {
            return;
        }

        var capacityMw = chillers[0].CapacityWatts / 1e6;
        var load = Math.Max(0, s.ItMw - (u.Economiser ? Math.Max(0, s.EconomiserHeatMw) : 0));
        if (!double.IsFinite(load))
        {
            return;
        }

        var running = s.ChillersRunning;
        if (load > 0.8 * running * capacityMw)
        {
            foreach (var c in chillers)
            {
                if (_accepted.GetValueOrDefault(c.Id + "/enable") < 0.5)
                {
                    moves.Add(new OptimiserMove(c.Id + "/enable", 1, string.Create(CultureInfo.InvariantCulture, $"chiller load {load:0.0} MW above 80 % of {running} running")));
                    return;
                }
            }
        }
        else if (staging && running >= 2 && load < 0.5 * (running - 1) * capacityMw)
        {
            for (var i = chillers.Count - 1; i >= 0; i--)
            {
                var id = chillers[i].Id + "/enable";
                if (_accepted.GetValueOrDefault(id) >= 0.5)
                {
                    moves.Add(new OptimiserMove(id, 0, string.Create(CultureInfo.InvariantCulture, $"chiller load {load:0.0} MW fits {running - 1} chiller(s) under 50 %")));
                    return;
                }
            }
        }
    }

    private bool IsTowardSafety(OptimiserMove m)
    {
        var last = _accepted.GetValueOrDefault(m.Actuator, double.NaN);
        if (double.IsNaN(last))
        {
            return false;
        }

        return m.Actuator.EndsWith("/supply_setpoint", StringComparison.Ordinal) ? m.Value <= last : m.Value >= last;
    }

    private int CountRunning(CoolingSnapshot s)
    {
        var n = 0;
        for (var i = 0; i < s.CrahRunning.Length; i++)
        {
            n += s.CrahRunning[i] || _accepted.GetValueOrDefault(_factory.Cooling.Crahs[i].Id + "/enable") >= 0.5 ? 1 : 0;
        }

        return n;
    }

    /// <summary>Whether a move of <paramref name="delta"/> from <paramref name="value"/> is a candidate: a raise needs
    /// <paramref name="mayRaise"/> and room under <paramref name="hi"/>; a value above <paramref name="hi"/> (a cap that
    /// has come down) must fall; a fall needs room above <paramref name="lo"/>. Speeds pass negated, so that a raise is
    /// a trim.</summary>
    private static bool Allowed(double value, double delta, double lo, double hi, bool mayRaise)
    {
        if (!double.IsFinite(value))
        {
            return delta == 0;
        }

        if (value > hi + 1e-9)
        {
            return delta < 0;
        }

        return delta == 0 || (delta > 0 ? mayRaise && value < hi - 1e-9 : value > lo + 1e-9);
    }

    private static double Ramp(double value, double delta, int k, double lo, double hi)
    {
        var v = value + (k * delta);
        return delta > 0 ? Math.Min(v, Math.Max(hi, value)) : delta < 0 ? Math.Max(v, Math.Min(lo, value)) : value;
    }

    private static double Offset(double measured, double predicted) => double.IsFinite(measured) && double.IsFinite(predicted) ? Math.Max(0, measured - predicted) : 0;

    private static double Max(double[] values)
    {
        var m = double.NaN;
        foreach (var v in values)
        {
            if (double.IsFinite(v) && !(v <= m))
            {
                m = v;
            }
        }

        return m;
    }

    private readonly record struct Bounds(double WaterLo, double WaterHi, double CduLo, double CduHi, double CrahLo, double CrahHi, double PumpLo, double PumpHi, double FanLo, double FanHi, double FwPumpLo, double FwPumpHi);
}
