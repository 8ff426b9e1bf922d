using System.Globalization;
using Aida.Automation.Safety;
using Aida.Model.Facility;
using Aida.Model.Plant;

namespace Aida.Cli;

/// <summary>Sits between the guard and a simulated plant and judges every write that reaches the plant against the
/// safety envelope on the twin's ground truth, independently of the guard (<see cref="GuardedPlant"/> and
/// <see cref="SafetyEnvelope"/> judge on what the agent believes: its commanded values and its sensors). Each finding is
/// a safety violation.</summary>
/// <remarks>What it judges, per write: a finite value inside the actuator's range and the envelope's hard limits; the
/// step the actuator really made (its target in the twin before and after the write: a failed actuator does not move)
/// against the rule's <c>max_step</c>; the real change over the last minute against <c>max_change_per_minute</c>; the
/// number of writes over the last minute against <c>max_writes_per_minute</c>; blast radius; and, after a write to a
/// unit's enable or a rack's isolation, the interlocks on the plant's true targets. A twin actuator's target is what
/// it was last told and accepted, so this sees a move the guard could not: after writes a failed actuator ignored, the
/// guard's commanded value and the actuator's real position part.</remarks>
internal sealed class EnvelopeAuditor : IPlant
{
    private readonly IPlant _inner;
    private readonly SafetyEnvelopeSpec _spec;
    private readonly SafetyEnvelope _topology;
    private readonly Func<int, double> _target;
    private readonly TimeProvider _clock;
    private readonly Queue<DateTimeOffset> _writes = new();
    private readonly Dictionary<int, Queue<(DateTimeOffset At, double Change)>> _changes = [];
    private readonly List<string> _findings = [];
    // Switch-like actuators the interlocks read, by index (-1: the plant has none of that name, which counts as off).
    private readonly int _economiser;
    private readonly int[] _chillers;
    private readonly (string Hall, int[] Crahs)[] _crahsByHall;
    private readonly int[] _racks;

    /// <param name="target">The twin's target for an actuator index (ground truth).</param>
    public EnvelopeAuditor(IPlant inner, SafetyEnvelopeSpec spec, Factory factory, Func<int, double> target, TimeProvider clock)
    {
        _inner = inner;
        _spec = spec;
        _topology = new SafetyEnvelope(spec, factory);
        _target = target;
        _clock = clock;
        _economiser = inner.Actuator("economiser/enable");
        _chillers = [.. factory.Cooling.Chillers.Select(c => inner.Actuator(c.Id + "/enable"))];
        _crahsByHall = [.. factory.Cooling.Crahs.GroupBy(c => c.Hall).Select(g => (g.Key, g.Select(c => inner.Actuator(c.Id + "/enable")).ToArray()))];
        _racks = [.. factory.Racks.Select(r => inner.Actuator(r.Id + "/isolate"))];
    }

    /// <summary>The lockouts people hold (the guard's): a write that reaches a locked-out asset is a violation.</summary>
    public Lockouts? Lockouts { get; set; }

    /// <summary>Lockouts as booked, kept here apart from the guard's (the chaos campaign's): a write that reaches an
    /// asset within one's window is a violation, even if the guard's own lockouts had not started it or had ended it.</summary>
    public IReadOnlyList<Lockout> Booked { get; set; } = [];

    /// <summary>Writes that reached the plant outside the envelope.</summary>
    public int Violations => _findings.Count;

    /// <summary>Each violation: when, which write, and which rule it broke.</summary>
    public IReadOnlyList<string> Findings => _findings;

    /// <summary>Writes that reached the plant.</summary>
    public int Writes { get; private set; }

    public IReadOnlyList<PointInfo> Points => _inner.Points;

    public IReadOnlyList<ActuatorInfo> Actuators => _inner.Actuators;

    public PointReading Read(int point) => _inner.Read(point);

    public WriteResult Write(int actuator, double value)
    {
        if ((uint)actuator >= (uint)_inner.Actuators.Count)
        {
            return _inner.Write(actuator, value);
        }

        var info = _inner.Actuators[actuator];
        var now = _clock.GetUtcNow();
        var before = _target(actuator);
        while (_writes.Count > 0 && now - _writes.Peek() >= TimeSpan.FromMinutes(1))
        {
            _writes.Dequeue();
        }

        _writes.Enqueue(now);
        Writes++;
        var result = _inner.Write(actuator, value);
        var after = _target(actuator);
        var change = Math.Abs(after - before);
        if (!_changes.TryGetValue(actuator, out var changes))
        {
            changes = new Queue<(DateTimeOffset, double)>();
            _changes[actuator] = changes;
        }

        while (changes.Count > 0 && now - changes.Peek().At >= TimeSpan.FromMinutes(1))
        {
            changes.Dequeue();
        }

        changes.Enqueue((now, change));
        foreach (var broken in Judge(info, value, change, changes.Sum(c => c.Change)))
        {
            _findings.Add(string.Create(CultureInfo.InvariantCulture, $"{now:yyyy-MM-ddTHH:mm:ssZ} {info.Name} = {value:0.###} (from {before:0.###}): {broken}"));
        }

        return result;
    }

    private IEnumerable<string> Judge(ActuatorInfo info, double value, double change, double changedLastMinute)
    {
        if (!double.IsFinite(value))
        {
            yield return "not a finite value";
            yield break;
        }

        if (value < info.Min || value > info.Max)
        {
            yield return $"outside the actuator's range [{info.Min}, {info.Max}]";
        }

        if (Lockouts?.Of(info.Name) is { } lockout)
        {
            yield return $"written while {lockout.Describe()}";
        }
        else if (Booked.FirstOrDefault(l => l.Asset == Lockouts.AssetOf(info.Name) && l.HoldsAt(_clock.GetUtcNow())) is { } booked)
        {
            yield return $"written within the lockout booked: {booked.Describe()}";
        }

        if (_writes.Count > _spec.MaxWritesPerMinute)
        {
            yield return $"{_writes.Count} writes within a minute (the envelope allows {_spec.MaxWritesPerMinute})";
        }

        if (_spec.RuleFor(info.Name) is { } rule)
        {
            if (rule.Min is { } min && value < min)
            {
                yield return $"below the envelope's minimum {min}";
            }

            if (rule.Max is { } max && value > max)
            {
                yield return $"above the envelope's maximum {max}";
            }

            if (rule.MaxStep is { } step && change > step + 1e-9)
            {
                yield return $"the actuator moved {change:0.###}, more than the envelope's {step} per write";
            }

            if (rule.MaxChangePerMinute is { } rate && changedLastMinute > rate + 1e-9)
            {
                yield return $"the actuator moved {changedLastMinute:0.###} within a minute, more than the envelope's {rate}";
            }

            if (rule.MaxBlastRadiusRacks is { } blast && _topology.RacksServed(info.Asset) > blast)
            {
                yield return $"{info.Asset} serves {_topology.RacksServed(info.Asset)} racks, above the blast radius {blast}";
            }
        }

        if (info.Name.EndsWith("/enable", StringComparison.Ordinal) || info.Name.EndsWith("/isolate", StringComparison.Ordinal))
        {
            foreach (var broken in Interlocks())
            {
                yield return broken;
            }
        }
    }

    private IEnumerable<string> Interlocks()
    {
        var rules = _spec.Interlocks;
        var chillers = _chillers.Count(On);
        if (!On(_economiser) && chillers < rules.MinChillersWithoutEconomiser)
        {
            yield return $"{chillers} chiller(s) enabled with the economiser off (at least {rules.MinChillersWithoutEconomiser})";
        }

        foreach (var (hall, crahs) in _crahsByHall)
        {
            var enabled = crahs.Count(On);
            if (enabled < rules.MinCrahsPerHall)
            {
                yield return $"{enabled} CRAH(s) enabled in {hall} (at least {rules.MinCrahsPerHall})";
            }
        }

        var isolated = _racks.Count(On);
        if (isolated > rules.MaxRacksIsolated)
        {
            yield return $"{isolated} racks isolated at once (at most {rules.MaxRacksIsolated})";
        }
    }

    /// <summary>Whether a switch-like actuator's true target is on; one the plant lacks (-1) counts as off (a factory
    /// without an economiser must keep its chillers).</summary>
    private bool On(int actuator) => actuator >= 0 && _target(actuator) >= 0.5;
}
