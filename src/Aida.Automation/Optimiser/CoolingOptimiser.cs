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

    // Resolution of the per-hall fan search: 0.02 of full speed, a tenth of the smallest trim step the plans make.
    private const double FanGrid = 0.02;

    // Resolution of the water's refinement between the search's setpoint steps (0.5 K): 0.1 K, the resolution a plant's
    // supply-temperature control holds and below the rack inlet sensors' noise; four of them reach the next step.
    private const double WaterRefineCelsius = 0.1;
    private const int WaterRefineSteps = 4;

    private readonly Factory _factory;
    private readonly SafetyEnvelopeSpec? _spec;
    private readonly CoolingOptimiserOptions _options;
    private readonly Dictionary<string, double> _accepted = new(StringComparer.Ordinal);
    // The economiser's design fan power and its approach (dry coolers' or towers'), from the factory: read once.
    private readonly double _economiserFanDesignWatts;
    private readonly double _economiserApproach;
    private DateTimeOffset? _freeCoolingSince;
    private bool _stoppedForFreeCooling;
    private DateTimeOffset? _startCommandedAt;
    private int _runningAtStart;
    private bool _shortBefore;
    private readonly Dictionary<string, (double Value, string Key)> _refused = new(StringComparer.Ordinal);
    private string _envelopeKey = "";

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
        var c = factory.Cooling;
        _economiserFanDesignWatts = c.DryCoolers.Sum(d => d.FanPowerWatts) + c.CoolingTowers.Sum(t => t.FanPowerWatts);
        _economiserApproach = c.EvaporativeEconomiser ? c.CoolingTowers.Max(t => t.ApproachCelsius) : c.DryCoolers.Count > 0 ? c.DryCoolers.Max(d => d.ApproachCelsius) : double.NaN;
    }

    /// <summary>Observations taken into the model so far.</summary>
    public int Observations => _model?.Observations ?? 0;

    /// <summary>The identified model's parameters, one line (empty before the first observation).</summary>
    public string DescribeModel() => _model?.Describe() ?? "";

    /// <summary>Points (of the plant given to <see cref="Observe"/> and <see cref="Plan"/>) whose readings the optimiser
    /// reads as missing, neither learning from them nor planning on them: sensors a diagnosis found lying (stuck,
    /// scattering, drifting). Empty by default; the caller replaces the set as diagnoses come and go.</summary>
    public IReadOnlySet<int> Distrusted { get; set; } = new HashSet<int>();

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
        TakeOthersWrites(plant);
        var s = _points!.Read(plant, observe: false);
        var u0 = Current(s);
        var model = _model!;
        var o = _options;
        var screened = Math.Max(_screened, model.Screen(s, u0));
        var groups = Math.Max(1, s.CduMaxGpu.Length + s.HallMaxInlet.Length);
        var blind = !(s.MissingShare <= o.MaxMissingShare) || !(screened <= o.MaxMissingShare * groups) || !double.IsFinite(s.ItMw);
        // Which readings blind it, for the person reading the decision.
        var blindBy = string.Join(", ", new[]
        {
            !(s.MissingShare <= o.MaxMissingShare) ? string.Create(CultureInfo.InvariantCulture, $"{s.MissingShare:P0} of the racks' GPU and inlet readings") : null,
            !(screened <= o.MaxMissingShare * groups) ? $"{screened} of {groups} CDUs' hottest GPU and halls' hottest inlet off the model" : null,
            !double.IsFinite(s.ItMw) ? "the IT power" : null,
        }.OfType<string>());
        // Hold and Expand differ only by what the envelope allows (Allowed, the caps); a freeze allows nothing whatever
        // its flags say, and neither does a plant the optimiser cannot see.
        var expand = envelope.Regime != EfficiencyRegime.Freeze && !blind;
        var raise = expand && envelope.Allowed.HasFlag(EfficiencyActions.SetpointRaise);
        var trim = expand && envelope.Allowed.HasFlag(EfficiencyActions.PumpAndFanTrim);
        var staging = expand && envelope.Allowed.HasFlag(EfficiencyActions.Staging);
        var tightness = 1 - Math.Clamp(envelope.Headroom, 0, 1);
        var gpuLimit = _factory.Gpu.ThrottleCelsius - o.GpuMarginCelsius - (o.GpuMarginAtNoHeadroomCelsius * tightness);
        var inletLimit = o.InletLimitAt(envelope.Headroom);
        var cduLimit = envelope.MaxCduSupplyCelsius;
        var waterCap = Math.Min(_bounds.WaterHi, envelope.MaxFacilityWaterSupplyCelsius);

        // Without leave to raise, water held colder than the safe envelope (a fault's emergency setting: 16.5 °C after
        // two CRAHs failed on the faults week) still comes back up to it once the predicted limits allow; a freeze had
        // kept it there for two days, 3.5 K under the digital operator's water.
        var mayRaiseWater = raise || (!blind && u0.FacilityWater < envelope.SafeFacilityWaterSupplyCelsius - 1e-9);
        if (!raise && !double.IsNaN(envelope.SafeFacilityWaterSupplyCelsius))
        {
            waterCap = Math.Min(waterCap, envelope.SafeFacilityWaterSupplyCelsius);
        }
        var cduCap = Math.Min(_bounds.CduHi, envelope.MaxCduSupplyCelsius);

        // Offset-free prediction: what the model under-predicts now (measured above predicted) is carried as a
        // disturbance into every candidate; an over-prediction is kept as margin, never spent.
        var now0 = model.Predict(s, u0);
        var peak = _points.Read(plant, observe: false);
        _peaks.RaiseToPeak(peak);
        var gpuOffset = Offset(Max(s.CduMaxGpu), now0.MaxGpu);
        var cduOffset = Offset(Max(s.CduSupply), now0.MaxCduSupply);

        double sp = o.SetpointStepCelsius, sv = o.SpeedStep;
        // Standby CRAHs: at the same airflow, n fans at speed f/n' draw n f³: more running units at lower speed save
        // power (affinity laws), and a unit more is a move toward safety. Started when trimming is allowed (AddMoves),
        // and counted only once they run: a unit in maintenance, or one whose start failed, never supplies air, and a
        // plan that counted it trimmed the others below the racks' demand (the inlet then cycled the water 16-21 °C).
        var halls = u0.HallFans.Length;
        var hallCrahs = u0.HallCrahs;
        var economiser = u0.Economiser || staging;

        // Offsets per hall: each hall's own under-prediction, since its racks' position offsets are its own.
        var hallOffset = new double[halls];
        for (var h = 0; h < halls; h++)
        {
            hallOffset[h] = Offset(s.HallMaxInlet[h], model.HallInlet(s, u0, h, u0.HallFans[h]));
        }

        double InletExcess(CoolingSettings u)
        {
            var worst = double.NegativeInfinity;
            for (var h = 0; h < halls; h++)
            {
                worst = Math.Max(worst, model.HallInlet(peak, u, h, u.HallFans[h]) + hallOffset[h]);
            }

            return worst - inletLimit;
        }

        double Charge(CoolingPrediction p, CoolingSettings u, out double violation)
        {
            violation = Math.Max(0, p.MaxGpu + gpuOffset - gpuLimit) + Math.Max(0, InletExcess(u))
                + Math.Max(0, p.MaxCduSupply + cduOffset - cduLimit);
            return p.FacilityMw + (ViolationMwPerKelvin * violation);
        }

        // Each hall's fans: the slowest speed within one step of where they are that supplies the racks' air demand at
        // the recent peak load with AirflowExcess to spare and whose predicted hottest inlet (with the hall's offset)
        // stays under the limit: fan power only rises with speed and the inlet only falls, so the slowest safe speed is
        // the hall's best. Recirculation is never planned: bought with colder water it costs more chiller power than it
        // saves in fans, and the inlet then moves 15 K per unit of shortfall with every load step (the first run of
        // per-hall fans, which traded them, touched 27.3 °C). Trims move at most SpeedStep a plan, moves toward safety
        // up to SpeedStepTowardSafety; blind, the fans go back toward full speed.
        double[] SolveFans(CoolingSettings u, double[] from)
        {
            var fans = new double[halls];
            for (var h = 0; h < halls; h++)
            {
                var f0 = double.IsFinite(from[h]) ? from[h] : _bounds.FanHi;
                var lo = Math.Max(_bounds.FanLo, f0 - (trim ? o.SpeedStep : 0));
                var hi = Math.Min(_bounds.FanHi, Math.Max(f0, lo) + o.SpeedStepTowardSafety);
                lo = Math.Min(lo, hi);
                if (blind)
                {
                    fans[h] = hi;
                    continue;
                }

                fans[h] = hi;
                var floor = model.FanForAirDemand(peak.HallRackPowerMw[h], u.HallCrahs[h], o.AirflowExcess);
                for (var f = Math.Max(lo, Math.Min(floor, hi)); f < hi; f += FanGrid)
                {
                    if (model.HallInlet(peak, u, h, f) + hallOffset[h] <= inletLimit)
                    {
                        fans[h] = f;
                        break;
                    }
                }
            }

            return fans;
        }

        double FanMoves(double[] a, double[] b)
        {
            var m = 0.0;
            for (var h = 0; h < halls; h++)
            {
                m += Math.Abs(a[h] - b[h]) / o.SpeedStep;
            }

            return m;
        }

        // The CDU setpoint costs nothing in the model (the heat reaches the facility water whatever it is) and a colder
        // one leaves more GPU headroom for trimming the CDU pumps: it comes down toward the warmest supply every CDU can
        // reach with its valve open, plus a control margin, within the envelope's cap, and is never raised by the
        // search (a move toward safety only; when the water warms past it, the CDUs run with their valves open and the
        // model's supply is the reachable one). The first run raised it after the reachable supply as well, and the
        // approach it learnt from the lag of its own lowering walked it up to 31.6 °C.
        double CduTarget(CoolingSettings u, double from)
        {
            var target = Math.Clamp(model.CduReachable(peak, u) + o.CduControlMarginCelsius, _bounds.CduLo, cduCap);
            if (!double.IsFinite(from))
            {
                return target;
            }

            // Above a cap that has come down, the target is the cap; the writes close the gap one envelope step at a
            // time (AddMoves).
            var upper = Math.Min(from, cduCap);
            return Math.Clamp(target, Math.Min(from - (2 * sp), upper), upper);
        }

        var best = (Cost: double.PositiveInfinity, U: u0, P: now0, Violation: 0.0, Dw: 0.0, Da: 0.0, Dp: 0.0, Dq: 0.0);

        // One candidate: its first move, scored over the horizon by the cheaper of two continuations (hold it, or keep
        // ramping at the same rate, the fans and the CDU setpoint re-solved at each step from the step before; each
        // step charged its violations).
        void Consider(double dw, double da, double dp, double dq)
        {
            CoolingSettings At(CoolingSettings prev, int k)
            {
                var u = new CoolingSettings(
                    Ramp(u0.FacilityWater, dw, k, _bounds.WaterLo, waterCap),
                    prev.CduSupply,
                    Ramp(u0.CrahSupply, da * sp, k, _bounds.CrahLo, _bounds.CrahHi),
                    Ramp(u0.CduPump, dp * sv, k, _bounds.PumpLo, _bounds.PumpHi),
                    prev.HallFans,
                    Ramp(u0.FacilityPump, dq * sv, k, _bounds.FwPumpLo, _bounds.FwPumpHi),
                    economiser,
                    hallCrahs);
                u = u with { CduSupply = CduTarget(u, prev.CduSupply) };
                return u with { HallFans = SolveFans(u, prev.HallFans) };
            }

            var first = At(u0, 1);
            var firstPrediction = model.Predict(s, first, peak);
            var held = Charge(firstPrediction, first, out var violation) * o.HorizonSteps;
            var ramped = Charge(firstPrediction, first, out _);
            var rampViolation = violation;
            var step = first;
            for (var k = 2; k <= o.HorizonSteps && ramped < held; k++)
            {
                step = At(step, k);
                ramped += Charge(model.Predict(s, step, peak), step, out var v);
                rampViolation += v;
            }

            var cost = Math.Min(held, ramped);
            if (blind)
            {
                // Unable to see the racks: restore full pumps and fans (the design state) as fast as the steps allow,
                // whatever the power.
                cost = -(dp + dq);
            }

            violation = ramped < held ? rampViolation : violation * o.HorizonSteps;
            cost += MoveMw * (Math.Abs(dw / sp) + Math.Abs(da) + Math.Abs(dp) + Math.Abs(dq) + FanMoves(first.HallFans, u0.HallFans));
            if (cost < best.Cost)
            {
                best = (cost, first, firstPrediction, violation, dw, da, dp, dq);
            }
        }

        ReadOnlySpan<double> waterMoves = [-2 * sp, -sp, 0, sp, 2 * sp];
        ReadOnlySpan<double> unit = [-1, 0, 1];
        foreach (var dw in waterMoves)
        {
            if (!Allowed(u0.FacilityWater, dw, _bounds.WaterLo, waterCap, mayRaiseWater))
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

                    foreach (var dq in unit)
                    {
                        if (Allowed(-u0.FacilityPump, -dq * sv, -_bounds.FwPumpHi, -_bounds.FwPumpLo, trim))
                        {
                            Consider(dw, da, dp, dq);
                        }
                    }
                }
            }
        }

        // The water between the search's half-kelvin steps: the rack inlets follow the water about one for one, and the
        // inlet limit usually falls between two steps (on the faults week 80 % of the plans held 21.5 °C with the hottest
        // inlet predicted 0.2-0.4 K under its limit; 0.25 K of water is ~400 kWh of chiller energy a day). Around a safe
        // choice only, with its other moves kept: a plan back toward safety keeps the search's step.
        if (!blind && best.Violation == 0)
        {
            var coarse = best;
            for (var j = -WaterRefineSteps; j <= WaterRefineSteps; j++)
            {
                var dw = coarse.Dw + (j * WaterRefineCelsius);
                if (j != 0 && Math.Abs(dw) <= (2 * sp) + 1e-9 && Allowed(u0.FacilityWater, dw, _bounds.WaterLo, waterCap, mayRaiseWater))
                {
                    Consider(dw, coarse.Da, coarse.Dp, coarse.Dq);
                }
            }
        }

        var chosen = best.U;
        var moves = new List<OptimiserMove>();
        var why = best.Violation > 0 ? "predicted limits reached: back toward safety" : "cheapest safe ramp over the horizon";
        AddMoves(moves, chosen, s, why, startStandby: trim);
        StageChillers(moves, s, chosen, staging, now);
        // A move the guard refused is not asked again while the envelope is the same: it would be refused again.
        _envelopeKey = string.Create(CultureInfo.InvariantCulture, $"{envelope.Regime}|{envelope.Allowed}|{envelope.MaxFacilityWaterSupplyCelsius}|{envelope.MaxCduSupplyCelsius}");
        moves.RemoveAll(m => _refused.TryGetValue(m.Actuator, out var r) && r.Key == _envelopeKey && Math.Abs(r.Value - m.Value) < 1e-9);
        // The group's setting is its warmest setpoint and slowest speed: a unit a runbook set colder or faster is not
        // brought back to the group toward efficiency unless the envelope allows that move.
        // (The water's return up to the safe envelope is the exception: it ends an emergency setting, see above.)
        bool MayRaise(OptimiserMove m) => raise || (mayRaiseWater && m.Actuator == "facility-water/supply_setpoint" && !envelope.WaterRaiseNeedsLeave(m.Value));
        moves.RemoveAll(m => _accepted.GetValueOrDefault(m.Actuator, double.NaN) is var last && double.IsFinite(last)
            && (m.Actuator.EndsWith("/supply_setpoint", StringComparison.Ordinal) ? !MayRaise(m) && m.Value > last
                : (m.Actuator.EndsWith("/pump_speed", StringComparison.Ordinal) || m.Actuator.EndsWith("/fan_speed", StringComparison.Ordinal)) && !trim && m.Value < last));
        // A return of the water up to the safe envelope is not a move toward safety, whatever the regime.
        var towardSafety = expand ? moves.TrueForAll(IsTowardSafety)
            : !moves.Exists(m => m.Actuator == "facility-water/supply_setpoint" && !IsTowardSafety(m));
        var reason = string.Create(CultureInfo.InvariantCulture,
            $"{envelope.Regime}{(blind ? $" (readings missing or stuck: {blindBy}; no move toward efficiency)" : "")}: {why}; water {chosen.FacilityWater:0.0} °C, CDU {chosen.CduSupply:0.0} °C, CRAH {chosen.CrahSupply:0.0} °C, pumps {chosen.CduPump:0.00}, fans {string.Join('/', chosen.HallFans.Select(f => f.ToString("0.00", CultureInfo.InvariantCulture)))} x{chosen.Crahs}, facility pumps {chosen.FacilityPump:0.00}; GPU ≤ {gpuLimit:0.0} °C, inlet ≤ {inletLimit:0.0} °C; halls' peak load {string.Join('/', peak.HallRackPowerMw.Select(p => p.ToString("0.00", CultureInfo.InvariantCulture)))} MW on {string.Join('/', hallCrahs)} CRAHs");
        var pred = best.P;
        return new OptimiserPlan(now, moves, pred.FacilityMw * 1e6, pred.OverheadMw * 1e6, pred.MaxGpu + gpuOffset, InletExcess(chosen) + inletLimit, pred.FacilityWaterSupply, towardSafety, reason)
        {
            LimitsReached = best.Violation > 0,
        };
    }

    /// <summary><paramref name="plan"/> with only its moves back toward safety (colder setpoints, faster pumps and fans,
    /// units started): what may be written while a runbook is responding to a fault, so that the optimiser helps the
    /// response (the water and air brought down after a loss of airflow) and never undoes it.</summary>
    public OptimiserPlan TowardSafetyOnly(OptimiserPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var moves = plan.Moves.Where(IsTowardSafety).ToList();
        return moves.Count == plan.Moves.Count ? plan : plan with { Moves = moves, TowardSafety = true, Reason = $"{plan.Reason} (a runbook is responding: its moves toward safety only)" };
    }

    /// <summary>What the result of a move <see cref="Apply"/> did not write starts with: the guard would have refused it
    /// only for now (<see cref="AppliedMove.DeferredFor"/> names why).</summary>
    public const string Deferred = "deferred to the next step: ";

    /// <summary>Writes the plan's moves through <paramref name="guarded"/> (the <see cref="GuardedPlant"/>); an accepted
    /// write becomes the optimiser's value for that actuator, a refused or failed one leaves the last accepted value. A
    /// move the guard would refuse only for now is not written: its result is <see cref="WriteStatus.RateLimited"/>, its
    /// message starts <see cref="Deferred"/>, and <see cref="AppliedMove.DeferredFor"/> names what held it back.</summary>
    public IReadOnlyList<AppliedMove> Apply(OptimiserPlan plan, IPlant guarded)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(guarded);
        var results = new List<AppliedMove>(plan.Moves.Count);
        foreach (var move in plan.Moves)
        {
            // A move the guard would refuse only for now (its actuator moved by its whole rate less than a minute ago)
            // is not written but planned again at the next step. Regression (session 38): on the wall clock the second
            // minute's plan came a little less than 60 s after the first one's writes (the first plan is the slowest),
            // and each of its ten 1 K CDU moves was refused, audited and counted as a refusal.
            if (guarded is GuardedPlant guard && guard.Judge(move.Actuator, move.Value) is { Allowed: false, ForNow: true } verdict)
            {
                results.Add(new AppliedMove(move, new WriteResult(WriteStatus.RateLimited, Deferred + verdict.Reason)) { DeferredFor = verdict.Hold });
                continue;
            }

            var result = guarded.Write(move.Actuator, move.Value);
            if (result.Ok)
            {
                _accepted[move.Actuator] = move.Value;
                _refused.Remove(move.Actuator);
            }
            else if (result.Status == WriteStatus.Refused && !IsTowardSafety(move))
            {
                // Only a move toward efficiency is not asked again: one toward safety (refused by a rate limit, say)
                // is asked every step until it passes.
                _refused[move.Actuator] = (move.Value, _envelopeKey);
            }

            results.Add(new AppliedMove(move, result));
        }

        return results;
    }

    /// <summary>Takes as its own the values others (a runbook) wrote through the same guard since: the optimiser plans
    /// from the settings in force, so that holding them is not a move (in a freeze, a hold from its own stale value
    /// was a raise over the runbook's lower setpoint, refused every step).</summary>
    private void TakeOthersWrites(IPlant plant)
    {
        if (plant is not GuardedPlant guard)
        {
            return;
        }

        foreach (var name in _accepted.Keys.ToList())
        {
            if (guard.TryGetWritten(name, out var value))
            {
                _accepted[name] = value;
            }
        }
    }

    private void Begin(IPlant plant)
    {
        if (_points is not null)
        {
            return;
        }

        _points = new CoolingPoints(_factory, plant, () => Distrusted);
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

    /// <summary><paramref name="target"/> to a thousandth, rounded toward <paramref name="from"/> (the value in force), so
    /// a move never goes past the value planned: a setpoint planned up to the efficiency envelope's ceiling stays under it.</summary>
    internal static double RoundTowards(double target, double from)
    {
        var scaled = target * 1000;
        var rounded = target >= from ? Math.Floor(scaled + 1e-6) : Math.Ceiling(scaled - 1e-6);
        return rounded / 1000;
    }

    /// <summary>The settings in force, judged conservatively from the last accepted values: the warmest setpoint and the
    /// slowest pump of each group, and per hall the slowest fan of its running CRAHs (of all its CRAHs when none runs).</summary>
    private CoolingSettings Current(CoolingSnapshot s)
    {
        var c = _factory.Cooling;
        double Group(IEnumerable<string> names, bool warmest) => names.Select(n => _accepted.GetValueOrDefault(n, double.NaN)).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Aggregate(warmest ? Math.Max : Math.Min);
        var halls = _factory.Halls.Count;
        var running = new int[halls];
        var fans = new double[halls];
        for (var h = 0; h < halls; h++)
        {
            var inHall = Enumerable.Range(0, c.Crahs.Count).Where(i => _points!.CrahHall[i] == h).ToList();
            var on = inHall.Where(i => IsRunning(s, i)).ToList();
            running[h] = on.Count;
            fans[h] = Group((on.Count > 0 ? on : inHall).Select(i => c.Crahs[i].Id + "/fan_speed"), warmest: false);
        }

        return new CoolingSettings(
            _accepted["facility-water/supply_setpoint"],
            Group(c.Cdus.Select(u => u.Id + "/supply_setpoint"), warmest: true),
            Group(c.Crahs.Select(u => u.Id + "/supply_setpoint"), warmest: true),
            Group(c.Cdus.Select(u => u.Id + "/pump_speed"), warmest: false),
            fans,
            _accepted["facility-water/pump_speed"],
            _accepted["economiser/enable"] >= 0.5,
            running);
    }

    private void AddMoves(List<OptimiserMove> moves, CoolingSettings u, CoolingSnapshot s, string why, bool startStandby)
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
                target = RoundTowards(Math.Clamp(target, last - step, last + step), last);
                if (Math.Abs(target - last) < 1e-9)
                {
                    return;
                }
            }
            else
            {
                target = Math.Round(target, 3);
            }

            moves.Add(new OptimiserMove(actuator, target, reason));
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

            var hall = _points!.CrahHall[i];
            if (hall < 0)
            {
                continue;
            }

            if (startStandby && !IsRunning(s, i))
            {
                // Asked once: a unit that does not start (maintenance, a failed start) is not asked again while its
                // enable stays written.
                Move(id + "/enable", 1, "standby CRAH on: the same airflow from more fans at lower speed (fan power ~ speed³)");
            }

            Move(id + "/supply_setpoint", Math.Clamp(u.CrahSupply, _bounds.CrahLo, _bounds.CrahHi), why);
            Move(id + "/fan_speed", u.HallFans[hall], why);
        }
    }

    /// <summary>Chiller staging by capacity: start a standby when the predicted chiller load passes 80 % of the running
    /// capacity (a move toward safety, always allowed); stop one when the rest carry the load under 50 % of theirs and
    /// the envelope allows staging. 80/50 % leave a band so that a unit does not cycle (and a restart takes minutes).
    /// The last one stops too when the economiser alone has carried the load with room to spare for a while
    /// (<see cref="CoolingOptimiserOptions.FreeCoolingFanSpeed"/>), and one starts again before that room runs out.</summary>
    private void StageChillers(List<OptimiserMove> moves, CoolingSnapshot s, CoolingSettings u, bool staging, DateTimeOffset now)
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
        var o = _options;
        var speed = EconomiserFanSpeed(s);
        var water = s.FacilityWaterSupply - s.FacilityWaterSetpoint;
        // How far under the setpoint the economiser's approach limit lies: the dry (towers: wet) bulb plus the
        // factory's approach. Free cooling alone needs room here as well as in capacity (Phoenix in January: 5-20 °C
        // of dry bulb, dry coolers good for 13-28 °C against a 22 °C setpoint).
        var sink = _factory.Cooling.EvaporativeEconomiser ? s.WetBulb : s.DryBulb;
        var approachRoom = s.FacilityWaterSetpoint - (sink + _economiserApproach);
        var carrying = u.Economiser && s.EconomiserEnabled && load < 0.02 * capacityMw && speed <= o.FreeCoolingFanSpeed && water <= 0.3
            && approachRoom >= o.FreeCoolingApproachRoomCelsius;
        _freeCoolingSince = carrying ? _freeCoolingSince ?? now : null;
        // A chiller commanded on is left to start (its restart time): another is not started meanwhile for the same
        // need. Regression: the running count lags a start by the restart time (5 min), and plans 2 min apart started
        // a second and a third chiller for one load step (Leesburg, 20 April, 10:20-10:24: one to three and back to two). One
        // that has not run by then is taken as failed to start, and the next is started.
        var pending = _startCommandedAt is { } at && now - at <= chillers.Max(c => c.RestartTime) + TimeSpan.FromMinutes(2) && running <= _runningAtStart;
        if (running == 0 && _stoppedForFreeCooling)
        {
            // Short of room: the economiser off or unread, its fans near full, its approach limit within 1 K of the
            // setpoint (the weather warming: a regression on Phoenix's January day, where the optimiser raised the
            // setpoint as the water warmed and the racks passed 27 °C before any other sign), the water 2 K over its
            // setpoint, or
            // heat left for the chillers (IT load less the economiser's heat) with the water at its setpoint. Heat left
            // is taken at two plans running (a checkpoint's recovery leaves the economiser a minute or two behind the
            // IT load), or at once past half a chiller. Water under its setpoint is the loop warming to a setpoint the
            // optimiser raised, not a shortage (that had restarted a chiller on the winter day), and water over it
            // while the economiser takes more heat than the IT load gives is the loop cooling to a setpoint it lowered.
            var heatLeft = load > 0.1 * capacityMw && water > -0.2;
            var shortOfRoom = !(u.Economiser && s.EconomiserEnabled) || !(speed < o.FreeCoolingRestartFanSpeed) || !double.IsFinite(water) || !double.IsFinite(load)
                || !(approachRoom >= 1) || water > 2 || (heatLeft && (load > 0.5 * capacityMw || _shortBefore));
            _shortBefore = heatLeft;
            if (shortOfRoom && !pending && chillers.Where(c => _accepted.GetValueOrDefault(c.Id + "/enable") < 0.5).OrderBy(c => c.Standby).FirstOrDefault() is { } next)
            {
                moves.Add(new OptimiserMove(next.Id + "/enable", 1, string.Create(CultureInfo.InvariantCulture,
                    $"free cooling short of room: economiser fans at {speed:P0}, facility water {water:+0.0;-0.0} K from its setpoint, chiller load {load:0.0} MW")));
                (_startCommandedAt, _runningAtStart) = (now, running);
            }

            return;
        }

        _shortBefore = false;
        _stoppedForFreeCooling = false;
        if (load > 0.8 * running * capacityMw)
        {
            foreach (var c in chillers)
            {
                if (!pending && _accepted.GetValueOrDefault(c.Id + "/enable") < 0.5)
                {
                    moves.Add(new OptimiserMove(c.Id + "/enable", 1, string.Create(CultureInfo.InvariantCulture, $"chiller load {load:0.0} MW above 80 % of {running} running")));
                    (_startCommandedAt, _runningAtStart) = (now, running);
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
        else if (staging && running == 1 && _freeCoolingSince is { } since && now - since >= o.FreeCoolingHold)
        {
            for (var i = chillers.Count - 1; i >= 0; i--)
            {
                var id = chillers[i].Id + "/enable";
                if (_accepted.GetValueOrDefault(id) >= 0.5)
                {
                    moves.Add(new OptimiserMove(id, 0, string.Create(CultureInfo.InvariantCulture,
                        $"free cooling: the economiser has carried the load for {(now - since).TotalMinutes:0} min with its fans at {speed:P0}")));
                    _stoppedForFreeCooling = true;
                    return;
                }
            }
        }
    }

    /// <summary>The economiser's fan speed (0-1) from its fans' power by the affinity law against their design power:
    /// the share of its capacity it uses. NaN when unread or the factory has no economiser fans.</summary>
    private double EconomiserFanSpeed(CoolingSnapshot s) =>
        _economiserFanDesignWatts > 0 && s.DryCoolerFanKw >= 0 ? Math.Cbrt(Math.Min(1, s.DryCoolerFanKw * 1e3 / _economiserFanDesignWatts)) : double.NaN;

    private bool IsTowardSafety(OptimiserMove m)
    {
        var last = _accepted.GetValueOrDefault(m.Actuator, double.NaN);
        if (double.IsNaN(last))
        {
            return false;
        }

        return m.Actuator.EndsWith("/supply_setpoint", StringComparison.Ordinal) ? m.Value <= last : m.Value >= last;
    }

    /// <summary>Whether a CRAH supplies air: it reads running and not faulted. What was written to its enable does not
    /// count: a unit in maintenance, or whose start failed, takes the write and supplies nothing.</summary>
    private static bool IsRunning(CoolingSnapshot s, int crah) => s.CrahRunning[crah] && !s.CrahFault[crah];

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
