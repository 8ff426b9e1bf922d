using System.Globalization;

namespace Aida.Automation.Optimiser;

/// <summary>One actuator write the optimiser proposes.</summary>
/// <param name="Actuator">The actuator's name, <c>asset/setting</c>, as <see cref="Aida.Model.Plant.IPlant"/> lists it.</param>
/// <param name="Value">The value to write.</param>
/// <param name="Reason">Why, for the audit trail.</param>
public sealed record OptimiserMove(string Actuator, double Value, string Reason);

/// <summary>A move as <see cref="CoolingOptimiser.Apply"/> left it: the guard's result, and, for a move not written
/// because the guard would refuse it only for now, what held it back.</summary>
/// <param name="Move">The move planned.</param>
/// <param name="Result">The write's result; <see cref="Aida.Model.Plant.WriteStatus.RateLimited"/> for a deferred move.</param>
public sealed record AppliedMove(OptimiserMove Move, Aida.Model.Plant.WriteResult Result)
{
    /// <summary>What held the move back when it was deferred to the next step, not written;
    /// <see cref="Aida.Automation.Safety.HoldCause.None"/> when it was written (or refused for good).</summary>
    public Aida.Automation.Safety.HoldCause DeferredFor { get; init; }

    /// <summary>Whether the move was deferred to the next step instead of written.</summary>
    public bool Deferred => DeferredFor != Aida.Automation.Safety.HoldCause.None;
}

/// <summary>What the optimiser decided at one instant: the moves, and what its identified model predicts at the end of
/// the first horizon step if they are made.</summary>
/// <param name="At">When the plan was made (plant time).</param>
/// <param name="Moves">The writes to make, in order; empty when holding.</param>
/// <param name="PredictedFacilityPowerWatts">Facility power predicted under the plan.</param>
/// <param name="PredictedOverheadWatts">Facility minus IT power predicted under the plan.</param>
/// <param name="PredictedMaxGpuCelsius">Hottest GPU predicted (rack maxima, with the measured offset).</param>
/// <param name="PredictedMaxInletCelsius">Hottest rack inlet predicted.</param>
/// <param name="PredictedFacilityWaterSupplyCelsius">Facility-water supply predicted.</param>
/// <param name="TowardSafety">True when no move toward efficiency was allowed or taken (a freeze, missing readings, or
/// predicted temperatures at their limits); false when the water comes back up to the safe envelope
/// (<see cref="Aida.Reliability.Policy.EfficiencyEnvelope.SafeFacilityWaterSupplyCelsius"/>).</param>
/// <param name="Reason">One line: the regime, the binding constraint, the chosen step.</param>
/// <remarks><see cref="LimitsReached"/>: the model predicts a limit crossed whatever the plan does within one step (a hall
/// short of airflow, a load step): the caller plans again sooner (<see cref="CoolingOptimiserOptions.StepAtLimits"/>).</remarks>
public sealed record OptimiserPlan(
    DateTimeOffset At,
    IReadOnlyList<OptimiserMove> Moves,
    double PredictedFacilityPowerWatts,
    double PredictedOverheadWatts,
    double PredictedMaxGpuCelsius,
    double PredictedMaxInletCelsius,
    double PredictedFacilityWaterSupplyCelsius,
    bool TowardSafety,
    string Reason)
{
    /// <summary>Whether even the chosen moves are predicted to leave a temperature over its limit: the plan is a move
    /// back toward safety, and the next one should come at <see cref="CoolingOptimiserOptions.StepAtLimits"/>.</summary>
    public bool LimitsReached { get; init; }

    /// <summary>The plan as one audit entry: the move count, the plan's reason, each move that has a reason of its own
    /// (a chiller started or stopped, the economiser or a standby CRAH enabled) as <c>actuator → value: reason</c>,
    /// and the model's predictions. Moves whose reason the plan's already says (setpoints and speeds follow the
    /// chosen step) are counted, not repeated; the guard's own entries record each write's value and result.</summary>
    public string AuditText()
    {
        var own = Moves.Where(m => !Reason.Contains(m.Reason, StringComparison.Ordinal)).Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Actuator} → {m.Value:0.###}: {m.Reason}"));
        var moves = string.Join("; ", own);
        return string.Create(CultureInfo.InvariantCulture,
            $"{Moves.Count} moves: {Reason}{(moves.Length > 0 ? "; " + moves : "")}; predicted facility {PredictedFacilityPowerWatts / 1e6:0.000} MW, hottest GPU {PredictedMaxGpuCelsius:0.0} °C, hottest inlet {PredictedMaxInletCelsius:0.0} °C");
    }
}

/// <summary>Options of the <see cref="CoolingOptimiser"/>; the defaults are what the tests measured.</summary>
public sealed record CoolingOptimiserOptions
{
    /// <summary>The time between plans, one horizon step: 2 min, about the CDU loop's and the air side's time
    /// constants (TWIN.md: 1-2 min and 2-5 min), so each step's prediction is close to steady state.</summary>
    public TimeSpan Step { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The time to the next plan while the last one was predicted to leave a limit crossed
    /// (<see cref="OptimiserPlan.LimitsReached"/>): 1 min, the bundled envelope's rate for setpoints (1 K a minute), so
    /// that after a loss of airflow or cooling the water and air come down as fast as the guard lets them, not at half
    /// that pace. The model's step stays <see cref="Step"/>.</summary>
    public TimeSpan StepAtLimits { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Horizon in steps: 5 (10 min), long enough that a ramp toward a limit is seen before it arrives.</summary>
    public int HorizonSteps { get; init; } = 5;

    /// <summary>Margin below the GPU slowdown temperature (<c>Factory.Gpu.ThrottleCelsius</c>) at full headroom: 6 K,
    /// about two GPU-max quantisation steps plus the part-to-part spread the rack maxima do not show; a thin
    /// envelope adds up to <see cref="GpuMarginAtNoHeadroomCelsius"/>.</summary>
    public double GpuMarginCelsius { get; init; } = 6;

    /// <summary>Extra GPU margin when the efficiency envelope's headroom is 0: 4 K.</summary>
    public double GpuMarginAtNoHeadroomCelsius { get; init; } = 4;

    /// <summary>Rack inlet limit: 27 °C, ASHRAE TC 9.9 recommended envelope (the rack-inlet SLO's threshold).</summary>
    public double InletLimitCelsius { get; init; } = 27;

    /// <summary>Margin under the inlet limit at full headroom: 0.3 K, one and a half times the inlet sensors' 0.2 K noise
    /// (the racks' position offsets are learned by the model, not covered by the margin; the hottest reading's noise is
    /// in the measured offset the plan carries). Measured on the faults week (docs/evaluation.md): 0.5 K until session
    /// 13; 0.1 K saved 2.6 % of the fault-free day's overhead but froze the cooling for a day after the CRAH loss on one
    /// seed in three (session 11 and 12); 0.3 K with the water refined between half-kelvin steps saved 0.4-0.5 points
    /// against human on every seed, the rack-inlet SLO at 99.97 % or better (session 13). Grows with the budget spent
    /// (<see cref="InletMarginAtNoHeadroomCelsius"/>).</summary>
    public double InletMarginCelsius { get; init; } = 0.3;

    /// <summary>Margin under the inlet limit when the envelope's headroom is 0: 1.5 K, over seven times the inlet
    /// sensors' 0.2 K noise. In between, the margin grows in proportion as the headroom falls.</summary>
    public double InletMarginAtNoHeadroomCelsius { get; init; } = 1.5;

    /// <summary>The hottest inlet the optimiser plans to at the envelope's <paramref name="headroom"/> (0-1; outside it,
    /// clamped): the inlet limit less a margin from <see cref="InletMarginCelsius"/> at 1 to
    /// <see cref="InletMarginAtNoHeadroomCelsius"/> at 0.</summary>
    public double InletLimitAt(double headroom)
    {
        var tightness = 1 - Math.Clamp(double.IsNaN(headroom) ? 0 : headroom, 0, 1);
        return InletLimitCelsius - (InletMarginCelsius + ((InletMarginAtNoHeadroomCelsius - InletMarginCelsius) * tightness));
    }

    /// <summary>Share of rack temperature readings that may be missing or stuck before the optimiser refuses to move
    /// toward efficiency: 0.25 (it cannot judge a hall it cannot see).</summary>
    public double MaxMissingShare { get; init; } = 0.25;

    /// <summary>Setpoint move per step: 0.5 K (half the bundled envelope's 1 K a write and 1 K a minute).</summary>
    public double SetpointStepCelsius { get; init; } = 0.5;

    /// <summary>Speed trim per step: 0.1 (a fifth of the bundled envelope's 0.5 a write).</summary>
    public double SpeedStep { get; init; } = 0.1;

    /// <summary>Speed raise per step for a hall's fans when its predicted inlet needs more air: 0.3, so that a hall whose
    /// load steps up gets its airflow back within one plan (a move toward safety; the envelope allows 0.5 a write).</summary>
    public double SpeedStepTowardSafety { get; init; } = 0.3;

    /// <summary>How far above the warmest supply every CDU can reach (valve fully open) the optimiser sets the CDU
    /// supply setpoint: 1 K, so that each CDU's valve keeps authority to hold its setpoint through a load step.</summary>
    public double CduControlMarginCelsius { get; init; } = 1;

    /// <summary>Air the running CRAHs of a hall supply beyond its racks' demand at the recent peak load: 0.05 (5 %), the
    /// usual slight over-supply of a contained aisle, so that racks never draw hot-aisle air (no recirculation).</summary>
    public double AirflowExcess { get; init; } = 0.05;

    /// <summary>Free cooling alone: the last chiller is stopped once the economiser has carried the whole load, with its
    /// fans at or under this speed (0.75; a dry cooler's or tower's fans run at the share of its capacity it uses, so
    /// a quarter of it is spare) and the facility water at its setpoint, for <see cref="FreeCoolingHold"/>. A chiller
    /// left running at no load still draws its minimum (the factory's <c>min_power_fraction</c> of its capacity over
    /// its COP) and, water-cooled, its condenser pump.</summary>
    public double FreeCoolingFanSpeed { get; init; } = 0.75;

    /// <summary>How far under the facility water setpoint the economiser's approach limit (dry bulb, for towers wet bulb,
    /// plus the factory's approach) must lie for the last chiller to stop: 3 K. One starts again when it comes within
    /// 1 K.</summary>
    public double FreeCoolingApproachRoomCelsius { get; init; } = 3;

    /// <summary>How long the economiser must have carried the load before the last chiller stops: 15 min.</summary>
    public TimeSpan FreeCoolingHold { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>With every chiller stopped for free cooling, one is started again when the economiser's fans reach this
    /// speed (0.9: a tenth of its capacity left to carry the load through the chiller's restart), the economiser is
    /// off or unread, or the facility water runs 2 K over its setpoint; and, with the water at its setpoint, when the
    /// heat the economiser does not take (IT load less its heat) passes half a chiller, or a tenth of one at two plans
    /// running.</summary>
    public double FreeCoolingRestartFanSpeed { get; init; } = 0.9;
}
