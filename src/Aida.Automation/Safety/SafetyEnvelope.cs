using System.Globalization;
using Aida.Model.Facility;
using Aida.Model.Plant;
using Aida.Model.Topology;
using Aida.Reliability.Policy;

namespace Aida.Automation.Safety;

/// <summary>Whether a write may go to the plant, and why not; <see cref="Hold"/> names what stands in its way when the
/// same write may pass later (<see cref="ForNow"/>): a limit over the last minute, an interlock that only what the plant
/// reports breaks, a step that cannot be judged while an actuator's read-back reports nothing, or its device down or
/// back from an outage and not read back yet.</summary>
public readonly record struct SafetyVerdict(bool Allowed, string Reason, HoldCause Hold = HoldCause.None)
{
    public static SafetyVerdict Allow { get; } = new(true, "within the envelope");

    public static SafetyVerdict Refuse(string reason) => new(false, reason);

    /// <summary>Refused for now: the same write may pass once <paramref name="hold"/> no longer stands.</summary>
    public static SafetyVerdict RefuseForNow(HoldCause hold, string reason) =>
        hold == HoldCause.None
            ? throw new ArgumentOutOfRangeException(nameof(hold), "a refusal for now names what holds the write back")
            : new(false, reason, hold);

    /// <summary>Whether the refusal stands only for now (<see cref="Hold"/> is set).</summary>
    public bool ForNow => Hold != HoldCause.None;
}

/// <summary>What holds back a write the guard refuses only for now (<see cref="SafetyVerdict.Hold"/>): the same write
/// may pass once it no longer stands. The optimiser's audit line for the moves it deferred names it
/// (<see cref="HoldCauses.Describe"/>).</summary>
public enum HoldCause
{
    /// <summary>Not held back: allowed, or refused for good.</summary>
    None,

    /// <summary>The actuator moved by its whole change per minute within the last minute.</summary>
    ChangeRate,

    /// <summary>The envelope's writes per minute, over all actuators, are reached.</summary>
    WritesPerMinute,

    /// <summary>Its read-back reports nothing and no write of it is on record: the step cannot be judged.</summary>
    ReadBackMissing,

    /// <summary>An interlock that only what the plant reports breaks (a standby that has not reported running yet).</summary>
    InterlockReported,

    /// <summary>Its device is down and the last write to it failed: the plant would not send it.</summary>
    DeviceDown,

    /// <summary>Its device came back (answered again after an outage, or was found restarted) and has not read it back since.</summary>
    DeviceBackUnread,

    /// <summary>A person holds its asset locked out (<see cref="Lockouts"/>): someone is working on it.</summary>
    LockedOut,
}

public static class HoldCauses
{
    /// <summary>What holds a move back, as the optimiser's deferral line says it.</summary>
    public static string Describe(this HoldCause hold) => hold switch
    {
        HoldCause.ChangeRate => "moved by its rate within the last minute",
        HoldCause.WritesPerMinute => "the envelope's writes per minute reached",
        HoldCause.ReadBackMissing => "its read-back reporting nothing",
        HoldCause.InterlockReported => "an interlock, counting what the plant reports",
        HoldCause.DeviceDown => "its device down",
        HoldCause.DeviceBackUnread => "its device back, not read back yet",
        HoldCause.LockedOut => "its asset locked out",
        _ => throw new ArgumentOutOfRangeException(nameof(hold), hold, "not a hold"),
    };
}

/// <summary>The actuator state a verdict is judged against: each actuator's commanded value (NaN: not known), the
/// values it may be at instead (writes the plant did not confirm since its last confirmed one: each may or may not
/// have taken effect; after a restart, also the value last written before it), and how much it changed over the last
/// minute; and, for an on/off actuator, whether the plant reports what it switches as on.</summary>
public interface IActuatorState
{
    double Commanded(string actuator);

    IReadOnlyList<double> Unconfirmed(string actuator);

    double ChangedLastMinute(string actuator);

    /// <summary>Whether the plant reports the unit or rack <paramref name="actuator"/> switches as on: a unit's
    /// <c>running</c> point (else its <c>enabled</c> point) for its <c>/enable</c>, a rack's <c>isolated</c> point for
    /// its <c>/isolate</c>. Null when the plant has no such point or its reading is missing.</summary>
    bool? ReportedOn(string actuator);

    /// <summary>Whether the plant has a point that reads <paramref name="actuator"/> back (its reading may be missing).</summary>
    bool ReadsBack(string actuator);

    /// <summary>Where the plant reads <paramref name="actuator"/> back when that reading, taken after Aida's last write
    /// of it, differs from every value Aida may have left it at (moved by another writer, at the panel or from another
    /// BMS client, or a read-back that lies); NaN when there is no such dispute. It may be at either: a step is judged
    /// from both.</summary>
    double Disputed(string actuator);
}

/// <summary>Judges one actuator write against the safety envelope (the spec's hard limits, step and rate limits,
/// blast radius and interlocks, and the plant's own range) and, for moves toward efficiency, the efficiency envelope
/// of the error-budget policy. Pure: it reads the state it is given and changes nothing.</summary>
public sealed class SafetyEnvelope
{
    private readonly Dictionary<string, int> _racksServed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _chillers;
    private readonly Dictionary<string, string> _crahHall;
    private readonly List<string> _halls;
    private readonly List<string> _racks;

    public SafetyEnvelope(SafetyEnvelopeSpec spec, Factory factory)
    {
        Spec = spec ?? throw new ArgumentNullException(nameof(spec));
        ArgumentNullException.ThrowIfNull(factory);
        _chillers = new HashSet<string>(factory.Cooling.Chillers.Select(c => c.Id), StringComparer.Ordinal);
        _crahHall = factory.Cooling.Crahs.ToDictionary(c => c.Id, c => c.Hall, StringComparer.Ordinal);
        _halls = [.. factory.Halls.Select(h => h.Id)];
        _racks = [.. factory.Racks.Select(r => r.Id)];
        var racks = new HashSet<string>(_racks, StringComparer.Ordinal);
        var topology = TopologyGraph.Build(factory);
        foreach (var asset in topology.AssetKinds.Keys)
        {
            var served = topology.Downstream(asset, EdgeKind.Cools).Concat(topology.Downstream(asset, EdgeKind.Feeds)).Where(racks.Contains).Distinct(StringComparer.Ordinal).Count();
            _racksServed[asset] = racks.Contains(asset) ? Math.Max(1, served) : served;
        }

        // Plant-wide settings act on every rack.
        _racksServed["economiser"] = _racks.Count;
        DesignState = DesignStateOf(factory);
    }

    public SafetyEnvelopeSpec Spec { get; }

    /// <summary>The on/off actuators' values in the factory's design state (units not on standby enabled, no rack
    /// isolated, the economiser enabled): where the interlocks start from before any write is known.</summary>
    public IReadOnlyDictionary<string, double> DesignState { get; }

    /// <summary>How many racks an asset's actuators act on (its blast radius).</summary>
    public int RacksServed(string asset) => _racksServed.GetValueOrDefault(asset);

    public SafetyVerdict Check(ActuatorInfo actuator, double value, IActuatorState state, EfficiencyEnvelope? efficiency)
    {
        ArgumentNullException.ThrowIfNull(actuator);
        ArgumentNullException.ThrowIfNull(state);
        var name = actuator.Name;
        if (!double.IsFinite(value))
        {
            return SafetyVerdict.Refuse($"{name}: {Text(value)} is not a finite value");
        }

        if (value < actuator.Min || value > actuator.Max)
        {
            return SafetyVerdict.Refuse($"{name}: {Text(value)} {actuator.Unit} is outside the actuator's range [{Text(actuator.Min)}, {Text(actuator.Max)}]");
        }

        var current = state.Commanded(name);
        if (Spec.RuleFor(name) is { } rule)
        {
            var where = $"{Spec.Source}:{rule.Line} ({rule.Pattern})";
            if (rule.Min is { } min && value < min)
            {
                return SafetyVerdict.Refuse($"{name}: {Text(value)} {actuator.Unit} is below the envelope's minimum {Text(min)} ({where})");
            }

            if (rule.Max is { } max && value > max)
            {
                return SafetyVerdict.Refuse($"{name}: {Text(value)} {actuator.Unit} is above the envelope's maximum {Text(max)} ({where})");
            }

            var step = Step(state, name, value, out var from);

            // Nothing written on record and its read-back missing (a collector not polled yet, or down): it may be
            // anywhere in its range, and the step is judged from the farthest end. Judged as a step of 0, any value
            // within the limits passed (the read-back property's counterexample: cdu-h1-a's set point 25 -> 23.73 with
            // its reading missing). A GPU power limit's whole range is within one step; a set point's is not, and waits
            // for its reading.
            if (rule.MaxStep is { } unknownStep && double.IsNaN(from) && state.ReadsBack(name)
                && Math.Max(value - actuator.Min, actuator.Max - value) > unknownStep + 1e-9)
            {
                return SafetyVerdict.RefuseForNow(HoldCause.ReadBackMissing, $"{name}: its read-back reports nothing and no write of it is on record, so it may be anywhere in [{Text(actuator.Min)}, {Text(actuator.Max)}] {actuator.Unit}, more than the envelope's {Text(unknownStep)} per write from {Text(value)} ({where})");
            }

            if (rule.MaxStep is { } maxStep && step > maxStep + 1e-9)
            {
                // From a read-back that disagrees with what Aida wrote: say so, and how it ends.
                var disputed = state.Disputed(name);
                var why = !double.IsNaN(disputed) && disputed == from
                    ? $" (where the plant reads it back; Aida last wrote {Text(current)}: moved by another writer, or a read-back that lies. A write within {Text(maxStep)} of both passes; a person who knows where it is adopts the read-back, POST /api/actuators/adopt, or dismisses it as lying, /dismiss)"
                    : double.IsNaN(disputed) ? "" : $" (the plant reads it back at {Text(disputed)}, where Aida last wrote {Text(current)}: a step is judged from both)";
                return SafetyVerdict.Refuse($"{name}: a step of {Text(step)} {actuator.Unit} from {Text(from)}{why} exceeds the envelope's {Text(maxStep)} per write ({where})");
            }

            if (rule.MaxChangePerMinute is { } rate && state.ChangedLastMinute(name) + step > rate + 1e-9)
            {
                return SafetyVerdict.RefuseForNow(HoldCause.ChangeRate, $"{name}: {Text(state.ChangedLastMinute(name) + step)} {actuator.Unit} of change within a minute exceeds the envelope's {Text(rate)} ({where})");
            }

            if (rule.MaxBlastRadiusRacks is { } blast && RacksServed(actuator.Asset) > blast)
            {
                return SafetyVerdict.Refuse($"{name}: {actuator.Asset} serves {RacksServed(actuator.Asset)} racks, above the envelope's blast radius of {blast} ({where})");
            }
        }

        if (Interlock(name, value, state, reported: true) is { } broken)
        {
            // Broken only once what the plant reports is counted (a standby that has not reported running yet, a rack
            // isolated by someone else): the same write may pass when the plant reports otherwise.
            return Interlock(name, value, state, reported: false) is { } byRecord
                ? SafetyVerdict.Refuse($"{name}: {byRecord} ({Spec.Source}, interlocks)")
                : SafetyVerdict.RefuseForNow(HoldCause.InterlockReported, $"{name}: {broken}, counting what the plant reports ({Spec.Source}, interlocks)");
        }

        return efficiency is null ? SafetyVerdict.Allow : Efficiency(actuator, value, current, efficiency);
    }

    /// <summary>The step a write of <paramref name="value"/> makes, in the worst case: from the actuator's last known
    /// value (none known: 0), after unconfirmed writes from each value one of them may have left, and from a read-back
    /// that disagrees with them all (<see cref="IActuatorState.Disputed"/>). The envelope judges this step, and the
    /// guard counts it against the rate limit.</summary>
    public static double Step(IActuatorState state, string actuator, double value) => Step(state, actuator, value, out _);

    /// <inheritdoc cref="Step(IActuatorState, string, double)"/>
    /// <param name="from">The value the worst-case step is from (NaN when none is known).</param>
    public static double Step(IActuatorState state, string actuator, double value, out double from)
    {
        ArgumentNullException.ThrowIfNull(state);
        from = state.Commanded(actuator);
        var step = double.IsNaN(from) ? 0 : Math.Abs(value - from);
        foreach (var maybe in state.Unconfirmed(actuator))
        {
            if (Math.Abs(value - maybe) > step || double.IsNaN(from))
            {
                step = Math.Abs(value - maybe);
                from = maybe;
            }
        }

        var disputed = state.Disputed(actuator);
        if (!double.IsNaN(disputed) && (Math.Abs(value - disputed) > step || double.IsNaN(from)))
        {
            step = Math.Abs(value - disputed);
            from = disputed;
        }

        return step;
    }

    /// <summary>The interlock the plant would break with <paramref name="actuator"/> at <paramref name="value"/>, or null;
    /// with <paramref name="reported"/>, counting what the plant reports too.</summary>
    private string? Interlock(string actuator, double value, IActuatorState state, bool reported)
    {
        // Worst case over what each actuator may be at (its commanded value, or an unconfirmed write's) and, with
        // reported, over what the plant reports: a unit counts as running only if it runs either way and does not report
        // otherwise (a chiller tripped or still starting carries no load), a rack as isolated if it may be or reports so
        // (isolated at the panel, or by a writer that is not Aida). What the plant reports can only take units away and
        // add isolated racks: a reading that lies makes the guard refuse more, never less.
        bool On(string name) => name == actuator ? value >= 0.5
            : Known(state, name) >= 0.5 && state.Unconfirmed(name).All(v => v >= 0.5) && !(reported && state.ReportedOn(name) == false);
        bool MaybeOn(string name) => name == actuator ? value >= 0.5
            : Known(state, name) >= 0.5 || state.Unconfirmed(name).Any(v => v >= 0.5) || (reported && state.ReportedOn(name) == true);

        var rules = Spec.Interlocks;
        if (actuator.EndsWith("/enable", StringComparison.Ordinal) || actuator == "economiser/enable")
        {
            var economiser = On("economiser/enable");
            var chillers = _chillers.Count(c => On(c + "/enable"));
            if (!economiser && chillers < rules.MinChillersWithoutEconomiser)
            {
                return $"would leave {chillers} chiller(s) enabled with the economiser off (at least {rules.MinChillersWithoutEconomiser} required)";
            }

            foreach (var hall in _halls)
            {
                var crahs = _crahHall.Where(kv => kv.Value == hall).Count(kv => On(kv.Key + "/enable"));
                if (crahs < rules.MinCrahsPerHall && _crahHall.ContainsValue(hall))
                {
                    return $"would leave {crahs} CRAH(s) enabled in {hall} (at least {rules.MinCrahsPerHall} required)";
                }
            }
        }

        if (actuator.EndsWith("/isolate", StringComparison.Ordinal))
        {
            var isolated = _racks.Count(r => MaybeOn(r + "/isolate"));
            if (isolated > rules.MaxRacksIsolated)
            {
                return $"would isolate {isolated} racks at once (at most {rules.MaxRacksIsolated})";
            }
        }

        return null;
    }

    /// <summary>Moves toward efficiency need the efficiency envelope's leave; moves back toward safety never do.</summary>
    private static SafetyVerdict Efficiency(ActuatorInfo actuator, double value, double current, EfficiencyEnvelope e)
    {
        var name = actuator.Name;
        var raising = double.IsNaN(current) || value > current;
        var lowering = double.IsNaN(current) ? value < actuator.Max : value < current;
        if (name.EndsWith("/supply_setpoint", StringComparison.Ordinal) && raising && (actuator.Asset == "facility-water" || actuator.Asset.StartsWith("cdu", StringComparison.Ordinal)))
        {
            var cap = actuator.Asset == "facility-water" ? e.MaxFacilityWaterSupplyCelsius : e.MaxCduSupplyCelsius;
            if (value > cap + 1e-9)
            {
                return SafetyVerdict.Refuse($"{name}: {Text(value)} °C is above the efficiency envelope's {Text(cap)} °C ({e.Regime}: {e.Reason})");
            }

            // Water colder than the safe envelope (a fault's emergency setting) may come back up to it in any regime.
            var returning = actuator.Asset == "facility-water" && !e.WaterRaiseNeedsLeave(value);
            if (!e.Allowed.HasFlag(EfficiencyActions.SetpointRaise) && !double.IsNaN(current) && !returning)
            {
                return SafetyVerdict.Refuse($"{name}: raising setpoints is not allowed now ({e.Regime}: {e.Reason})");
            }
        }

        // A warmer CRAH supply is a move toward efficiency too (the efficiency envelope sets no cap for air: the hard
        // limits of the safety envelope bound it).
        if (name.EndsWith("/supply_setpoint", StringComparison.Ordinal) && actuator.Asset.StartsWith("crah", StringComparison.Ordinal)
            && raising && !double.IsNaN(current) && !e.Allowed.HasFlag(EfficiencyActions.SetpointRaise))
        {
            return SafetyVerdict.Refuse($"{name}: raising setpoints is not allowed now ({e.Regime}: {e.Reason})");
        }

        if ((name.EndsWith("/pump_speed", StringComparison.Ordinal) || name.EndsWith("/fan_speed", StringComparison.Ordinal)) && lowering && !e.Allowed.HasFlag(EfficiencyActions.PumpAndFanTrim))
        {
            return SafetyVerdict.Refuse($"{name}: trimming pumps and fans is not allowed now ({e.Regime}: {e.Reason})");
        }

        if (name.EndsWith("/enable", StringComparison.Ordinal) && name != "economiser/enable" && value < 0.5 && !e.Allowed.HasFlag(EfficiencyActions.Staging))
        {
            return SafetyVerdict.Refuse($"{name}: stopping units is not allowed now ({e.Regime}: {e.Reason})");
        }

        // UPS eco mode takes the inverter out of the path: a redundancy risk, granted by the power domain's budgets.
        if (name.EndsWith("/eco_mode", StringComparison.Ordinal) && value >= 0.5 && (double.IsNaN(current) || current < 0.5) && !e.Allowed.HasFlag(EfficiencyActions.UpsEco))
        {
            var power = e.PowerVerdict;
            return SafetyVerdict.Refuse($"{name}: UPS eco mode is not allowed now ({power.Regime}: {power.Reason})");
        }

        return SafetyVerdict.Allow;
    }

    private double Known(IActuatorState state, string name)
    {
        var v = state.Commanded(name);
        return double.IsNaN(v) ? DesignState.GetValueOrDefault(name, double.NaN) : v;
    }

    private static Dictionary<string, double> DesignStateOf(Factory f)
    {
        var state = new Dictionary<string, double>(StringComparer.Ordinal) { ["economiser/enable"] = 1 };
        foreach (var c in f.Cooling.Chillers)
        {
            state[c.Id + "/enable"] = c.Standby ? 0 : 1;
        }

        foreach (var c in f.Cooling.Crahs)
        {
            state[c.Id + "/enable"] = c.Standby ? 0 : 1;
        }

        foreach (var r in f.Racks)
        {
            state[r.Id + "/isolate"] = 0;
            state[r.Id + "/workload_pause"] = 0;
            state[r.Id + "/workload_move"] = 0;
        }

        return state;
    }

    private static string Text(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
