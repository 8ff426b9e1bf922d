using System.Globalization;
using Aida.Automation.Audit;
using Aida.Model.Plant;
using Aida.Reliability.Policy;

namespace Aida.Automation.Safety;

/// <summary>The one choke point between agents and the plant: an <see cref="IPlant"/> whose every write is judged by
/// the <see cref="SafetyEnvelope"/> (and the current efficiency envelope) before it reaches the plant behind it, capped
/// at the spec's writes per minute, and audited (the action, then its result or the refusal and why). Agents, runbooks
/// and the API are handed this plant, never the one behind it. Reads pass straight through.</summary>
/// <remarks>The starting point of each actuator is the plant's read-back point of the same name when it has one (a
/// setpoint), else the factory's design state for on/off actuators; an actuator whose value is not known yet is
/// checked against its limits and interlocks, and its step counts from its first accepted write.</remarks>
public sealed class GuardedPlant : IPlant, IActuatorState
{
    private readonly IPlant _inner;
    private readonly SafetyEnvelope _envelope;
    private readonly TimeProvider _clock;
    private readonly AuditLog? _audit;
    private readonly Func<EfficiencyEnvelope?> _efficiency;
    private readonly string _actor;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, double> _commanded = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<double>> _unconfirmed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<(DateTimeOffset At, double Change)>> _changes = new(StringComparer.Ordinal);
    private readonly Queue<DateTimeOffset> _writes = new();
    private readonly Dictionary<string, int> _readback = new(StringComparer.Ordinal);

    public GuardedPlant(IPlant inner, SafetyEnvelope envelope, TimeProvider clock, string actor, AuditLog? audit = null, Func<EfficiencyEnvelope?>? efficiency = null)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _envelope = envelope ?? throw new ArgumentNullException(nameof(envelope));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        ArgumentException.ThrowIfNullOrEmpty(actor);
        _actor = actor;
        _audit = audit;
        _efficiency = efficiency ?? (() => null);
        foreach (var p in inner.Points)
        {
            _readback[p.Name] = p.Index;
        }
    }

    public IReadOnlyList<PointInfo> Points => _inner.Points;

    public IReadOnlyList<ActuatorInfo> Actuators => _inner.Actuators;

    /// <summary>Writes refused by the envelope so far.</summary>
    public int Refused { get; private set; }

    /// <summary>Writes that reached the plant so far.</summary>
    public int Passed { get; private set; }

    public PointReading Read(int point) => _inner.Read(point);

    public WriteResult Write(int actuator, double value)
    {
        if (actuator < 0 || actuator >= _inner.Actuators.Count)
        {
            return new WriteResult(WriteStatus.UnknownActuator, $"unknown actuator #{actuator}");
        }

        var info = _inner.Actuators[actuator];
        lock (_lock)
        {
            var now = _clock.GetUtcNow();
            while (_writes.Count > 0 && now - _writes.Peek() >= TimeSpan.FromMinutes(1))
            {
                _writes.Dequeue();
            }

            var verdict = _writes.Count >= _envelope.Spec.MaxWritesPerMinute
                ? SafetyVerdict.RefuseForNow($"{info.Name}: {_writes.Count} writes within a minute already (the envelope allows {_envelope.Spec.MaxWritesPerMinute})")
                : _envelope.Check(info, value, this, _efficiency());
            _audit?.Append(_actor, AuditKind.Action, info.Name, Text(value));
            if (!verdict.Allowed)
            {
                Refused++;
                _audit?.Append(_actor, AuditKind.Result, info.Name, "refused: " + verdict.Reason);
                return new WriteResult(verdict.ForNow ? WriteStatus.RateLimited : WriteStatus.Refused, verdict.Reason);
            }

            // The change counted against the rate is the step the envelope judged. Counted from the last known value
            // alone, a write after an unconfirmed one counted 0 where none was known, and two more within the minute
            // moved a CDU setpoint 1.55 K against a limit of 1 K a minute (the envelope property's counterexample).
            var change = SafetyEnvelope.Step(this, info.Name, value);
            _writes.Enqueue(now);
            Passed++;
            var result = _inner.Write(actuator, value);
            _audit?.Append(_actor, AuditKind.Result, info.Name, result.Ok ? "accepted" : $"{result.Status}: {result.Message}");
            if (result.Ok || result.Status == WriteStatus.Unconfirmed)
            {
                // An unconfirmed write may have taken effect: it counts against the rate, and the next step must be
                // safe from both values until a write is confirmed.
                if (result.Ok)
                {
                    _unconfirmed.Remove(info.Name);
                    _commanded[info.Name] = value;
                }
                else
                {
                    if (!_unconfirmed.TryGetValue(info.Name, out var maybe))
                    {
                        maybe = [];
                        _unconfirmed[info.Name] = maybe;
                    }

                    maybe.Add(value);
                }

                if (!_changes.TryGetValue(info.Name, out var changes))
                {
                    changes = new Queue<(DateTimeOffset, double)>();
                    _changes[info.Name] = changes;
                }

                changes.Enqueue((now, change));
            }

            return result;
        }
    }

    /// <summary>The actuator's value as last accepted, else its read-back point, else its design state, else NaN.</summary>
    /// <summary>The value last accepted for <paramref name="actuator"/> from any writer through this guard (a runbook's
    /// as well as the optimiser's); false when none has been.</summary>
    public bool TryGetWritten(string actuator, out double value)
    {
        lock (_lock)
        {
            return _commanded.TryGetValue(actuator, out value);
        }
    }

    public double Commanded(string actuator)
    {
        if (_commanded.TryGetValue(actuator, out var v))
        {
            return v;
        }

        if (_readback.TryGetValue(actuator, out var point) && _inner.Read(point) is { IsMissing: false } reading)
        {
            return reading.Value;
        }

        return _envelope.DesignState.GetValueOrDefault(actuator, double.NaN);
    }

    public IReadOnlyList<double> Unconfirmed(string actuator) => _unconfirmed.TryGetValue(actuator, out var maybe) ? maybe : [];

    public double ChangedLastMinute(string actuator)
    {
        if (!_changes.TryGetValue(actuator, out var changes))
        {
            return 0;
        }

        var now = _clock.GetUtcNow();
        while (changes.Count > 0 && now - changes.Peek().At >= TimeSpan.FromMinutes(1))
        {
            changes.Dequeue();
        }

        return changes.Sum(c => c.Change);
    }

    private static string Text(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
