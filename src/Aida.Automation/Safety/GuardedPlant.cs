using System.Globalization;
using Aida.Automation.Audit;
using Aida.Model.Plant;
using Aida.Reliability.Policy;

namespace Aida.Automation.Safety;

/// <summary>The one choke point between agents and the plant: an <see cref="IPlant"/> whose every write is judged by
/// the <see cref="SafetyEnvelope"/> (and the current efficiency envelope) before it reaches the plant behind it, capped
/// at the spec's writes per minute, and audited (the action, then its result or the refusal and why). Agents, runbooks
/// and the API are handed this plant, never the one behind it. Reads pass straight through.</summary>
/// <remarks>The starting point of each actuator is its read-back when the plant has one (the command as the plant reads
/// it back, a <c>_command</c> point; else a point of the same name; else a switch's own state), else the factory's design
/// state for on/off actuators; an actuator whose value is not known yet is
/// checked against its limits and interlocks, and its step counts from its first accepted write. A guard started again
/// on the same audit log takes up the writes on record first (<see cref="TakenUp"/>): a restart forgets no isolated rack,
/// stopped unit or change of the last minute.</remarks>
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
    // Each actuator that reads back: a same-named point, or the point a switch reports its own value under.
    private readonly Dictionary<string, int> _readback = new(StringComparer.Ordinal);

    // Each on/off actuator's reported state, which the interlocks read: a unit's running point (else its enabled
    // point), a rack's isolated point.
    private readonly Dictionary<string, int> _reported = new(StringComparer.Ordinal);

    // Actuators that read back and whose values on record were taken up after a restart: those values count only until
    // the plant reports a reading of it (or a write of it passes).
    private readonly HashSet<string> _takenUpUntilRead = new(StringComparer.Ordinal);

    // Each actuator's last write that reached the plant this run: when, and the value it was judged from (a reading
    // after it that still shows that value, within a poll, is the read-back lagging, not a move).
    private readonly Dictionary<string, (DateTimeOffset At, double Before)> _lastWrite = new(StringComparer.Ordinal);

    // Each actuator whose read-back, taken after Aida's last write of it, differs from every value Aida may have left it
    // at (moved by another writer, or a read-back that lies): where it reads then, and when.
    private readonly Dictionary<string, (double Value, DateTimeOffset At)> _disputed = new(StringComparer.Ordinal);

    // Read-backs a person dismissed as lying, by actuator (after a restart, taken up from the log): while the plant reads
    // that value, it is no dispute, and no reason to drop the values taken up.
    private readonly Dictionary<string, double> _dismissed = new(StringComparer.Ordinal);

    // Actuators written this run whose device came back since (answered again after its collector lost it, or was found
    // restarted between two polls: IDeviceAvailability), and when: it may be back at its own settings, so it is not
    // written until it reads back from after then, and is then where it reads. Meanwhile what Aida wrote counts as a
    // value it may be at (for the interlocks).
    private readonly Dictionary<string, DeviceReturn> _backUnread = new(StringComparer.Ordinal);
    private readonly IDeviceAvailability? _devices;
    private readonly Dictionary<string, int> _actuatorIndex = new(StringComparer.Ordinal);

    // The on/off actuators (unit bool: a unit's enable, a rack's isolation, a UPS's eco mode): a read-back disputes a
    // write when it reads the other state (since session 42; before, only actuators with a max_step rule were compared).
    private readonly HashSet<string> _switches = new(StringComparer.Ordinal);

    public GuardedPlant(IPlant inner, SafetyEnvelope envelope, TimeProvider clock, string actor, AuditLog? audit = null, Func<EfficiencyEnvelope?>? efficiency = null)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _envelope = envelope ?? throw new ArgumentNullException(nameof(envelope));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        ArgumentException.ThrowIfNullOrEmpty(actor);
        _actor = actor;
        _audit = audit;
        _efficiency = efficiency ?? (() => null);
        var points = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in inner.Points)
        {
            points[p.Name] = p.Index;
        }

        // Where the command is: the command as the plant reads it back (a BMS point's present value, the `_command`
        // point beside a set point, speed, power limit or unit's enable), else a same-named point, else the point a switch
        // reports its own value under (a rack's isolation as isolated, the economiser's enable as enabled). The
        // same-named point of a set point or speed is the actuator's feedback, which ramps behind the command and stays
        // put when a failed actuator ignores it. A unit's running point is a report only: it is not where the command is
        // (a unit enabled may be starting, or tripped).
        _devices = inner as IDeviceAvailability;
        foreach (var a in inner.Actuators)
        {
            _actuatorIndex[a.Name] = a.Index;
            var isSwitch = a.Name.EndsWith("/isolate", StringComparison.Ordinal) || a.Name.EndsWith("/enable", StringComparison.Ordinal);
            var ownValue = isSwitch && points.TryGetValue(a.Name + "d", out var value) ? value : -1;
            if (points.TryGetValue(a.Name + "_command", out var command))
            {
                _readback[a.Name] = command;
            }
            else if (points.TryGetValue(a.Name, out var same))
            {
                _readback[a.Name] = same;
            }
            else if (ownValue >= 0)
            {
                _readback[a.Name] = ownValue;
            }

            if (a.Unit == "bool")
            {
                _switches.Add(a.Name);
            }

            var reported = a.Name.EndsWith("/enable", StringComparison.Ordinal) && points.TryGetValue(a.Name[..^"enable".Length] + "running", out var running) ? running : ownValue;
            if (reported >= 0)
            {
                _reported[a.Name] = reported;
            }
        }

        Lockouts = new Lockouts(inner.Actuators.Select(a => Lockouts.AssetOf(a.Name)), clock, audit);
        TakenUp = audit is null ? GuardTakeUp.None : TakeUp(audit);
        if (!TakenUp.Nothing)
        {
            audit!.Append(actor, AuditKind.Observation, EnvelopeSubject, TakenUpNote + TakenUp.Describe());
        }
    }

    /// <summary>The assets people have locked out (lockout/tagout): no write to their actuators passes, whoever asks.</summary>
    public Lockouts Lockouts { get; }

    /// <summary>What this guard took up from its audit log when it was built (a restart on the same log).</summary>
    public GuardTakeUp TakenUp { get; }

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
            ForgetTakenUpOnceRead();
            NoteDevicesBack();
            CompareReadBack(info.Name);
            var now = _clock.GetUtcNow();
            while (_writes.Count > 0 && now - _writes.Peek() >= TimeSpan.FromMinutes(1))
            {
                _writes.Dequeue();
            }

            var verdict = _writes.Count >= _envelope.Spec.MaxWritesPerMinute
                ? SafetyVerdict.RefuseForNow(HoldCause.WritesPerMinute, $"{info.Name}: {_writes.Count} writes within a minute already (the envelope allows {_envelope.Spec.MaxWritesPerMinute})")
                : LockedOut(info.Name) ?? BackUnread(info.Name) ?? HeldBack(info) ?? _envelope.Check(info, value, this, _efficiency());
            _audit?.Append(_actor, AuditKind.Action, info.Name, Text(value));
            if (!verdict.Allowed)
            {
                Refused++;
                _audit?.Append(_actor, AuditKind.Result, info.Name, "refused: " + verdict.Reason);
                // A lockout holds for as long as the work takes: a runbook step it refuses fails and calls a person
                // rather than proposing the write again each minute; the optimiser, which asks first, only defers.
                return new WriteResult(verdict.ForNow && verdict.Hold != HoldCause.LockedOut ? WriteStatus.RateLimited : WriteStatus.Refused, verdict.Reason);
            }

            // The change counted against the rate is the step the envelope judged. Counted from the last known value
            // alone, a write after an unconfirmed one counted 0 where none was known, and two more within the minute
            // moved a CDU setpoint 1.55 K against a limit of 1 K a minute (the envelope property's counterexample).
            var change = SafetyEnvelope.Step(this, info.Name, value);
            _lastWrite[info.Name] = (now, Commanded(info.Name));
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
                    _takenUpUntilRead.Remove(info.Name);
                    _disputed.Remove(info.Name);
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

                CountChange(info.Name, now, change);
            }

            return result;
        }
    }

    /// <summary>What the envelope would say now to a write of <paramref name="value"/> to <paramref name="actuator"/>,
    /// without writing or counting anything (the writes-per-minute limit aside: it passes within a minute), or auditing
    /// anything but a read-back found newly in dispute. A
    /// runbook asks before proposing again a restore the envelope refused, so it waits for the freeze to lift rather than
    /// being refused again every time its condition holds.</summary>
    public SafetyVerdict Judge(string actuator, double value)
    {
        var info = _inner.Actuators.FirstOrDefault(a => a.Name == actuator);
        if (info is null)
        {
            return SafetyVerdict.Refuse($"unknown actuator '{actuator}'");
        }

        lock (_lock)
        {
            ForgetTakenUpOnceRead();
            NoteDevicesBack();
            CompareReadBack(actuator);
            return LockedOut(actuator) ?? BackUnread(actuator) ?? HeldBack(info) ?? _envelope.Check(info, value, this, _efficiency());
        }
    }

    /// <summary>The refusal of a write to <paramref name="actuator"/> while a person holds its asset locked out; null
    /// otherwise.</summary>
    private SafetyVerdict? LockedOut(string actuator) =>
        Lockouts.Of(actuator) is { } lockout
            ? SafetyVerdict.RefuseForNow(HoldCause.LockedOut, $"{actuator}: {lockout.Describe()}: not written until it is released")
            : null;

    /// <summary>The actuators whose read-back disagrees with what Aida wrote (<see cref="Disputed(string)"/>): each with
    /// the value Aida last wrote, and where and since when the plant reads it back.</summary>
    public IReadOnlyList<(string Actuator, double Written, double ReadBack, DateTimeOffset ReadAt)> Disputes()
    {
        lock (_lock)
        {
            NoteDevicesBack();
            foreach (var name in _lastWrite.Keys)
            {
                CompareReadBack(name);
            }

            return [.. _disputed.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, Commanded(kv.Key), kv.Value.Value, kv.Value.At))];
        }
    }

    /// <summary>Whether <paramref name="actuator"/> is on/off (unit <c>bool</c>: a unit's enable, a rack's isolation, a
    /// UPS's eco mode) with no step rule: its dispute changes no judgement, the interlocks count what the plant reports.</summary>
    public bool IsOnOff(string actuator) => _switches.Contains(actuator) && _envelope.Spec.RuleFor(actuator)?.MaxStep is null;

    /// <summary>An operator's word that <paramref name="actuator"/> is where the plant reads it back (moved at the panel, or
    /// by another writer, on purpose): its steps are judged from its reading from now on, not from Aida's last write too.
    /// Audited as a decision of <paramref name="by"/>.</summary>
    /// <returns>What was adopted, or null with <paramref name="error"/> when the actuator is unknown or not in dispute.</returns>
    public string? AdoptReadBack(string actuator, string by, string reason, out string error) => Settle(actuator, by, reason, adopt: true, out error);

    /// <summary>An operator's word that <paramref name="actuator"/>'s read-back in dispute lies (a stuck or miswired BMS
    /// point) and the actuator is where Aida wrote it: its steps are judged from Aida's write alone while the read-back
    /// stays at that value; one that reads otherwise is judged again. After a restart the dismissed reading counts
    /// beside the value written before it (the worst case of both), not alone. Audited as a decision of
    /// <paramref name="by"/>.</summary>
    /// <returns>What was dismissed, or null with <paramref name="error"/> when the actuator is unknown or not in dispute.</returns>
    public string? DismissReadBack(string actuator, string by, string reason, out string error) => Settle(actuator, by, reason, adopt: false, out error);

    private string? Settle(string actuator, string by, string reason, bool adopt, out string error)
    {
        ArgumentException.ThrowIfNullOrEmpty(by);
        lock (_lock)
        {
            if (!_readback.ContainsKey(actuator))
            {
                error = _inner.Actuators.Any(a => a.Name == actuator) ? $"{actuator} has no read-back point" : $"unknown actuator '{actuator}'";
                return null;
            }

            CompareReadBack(actuator);
            if (!_disputed.TryGetValue(actuator, out var reading))
            {
                error = $"{actuator}: its read-back does not disagree with what Aida wrote (nothing to {(adopt ? "adopt" : "dismiss")})";
                return null;
            }

            var written = Commanded(actuator);
            _disputed.Remove(actuator);
            string what;
            if (adopt)
            {
                what = Adopt(actuator, reading.Value, reading.At, Text(written), by, reason);
            }
            else
            {
                _dismissed[actuator] = reading.Value;
                what = $"{actuator}{DismissedReadBack}{Text(reading.Value)} (read at {reading.At:u}) as lying: judged from {Text(written)} as written by Aida while it reads so: {reason}";
                _audit?.Append(by, AuditKind.Decision, actuator, what);
            }

            error = "";
            return what;
        }
    }

    /// <summary>Whether <paramref name="value"/> is the read-back a person dismissed as lying for <paramref name="actuator"/>
    /// (within its <see cref="DisputeTolerance"/>).</summary>
    private bool IsDismissed(string actuator, double value)
    {
        if (!_dismissed.TryGetValue(actuator, out var lie))
        {
            return false;
        }

        var tolerance = DisputeTolerance(actuator);
        return Math.Abs(value - lie) <= (double.IsNaN(tolerance) ? 0 : tolerance);
    }

    /// <summary>How far a read-back may be from what Aida wrote and still agree: a tenth of the actuator's <c>max_step</c>
    /// (a register's rounding is less), or for an on/off actuator half the way to the other state; NaN for an actuator
    /// that is not compared (no step rule, not on/off).</summary>
    private double DisputeTolerance(string actuator) =>
        _envelope.Spec.RuleFor(actuator)?.MaxStep is { } maxStep ? maxStep / 10 : _switches.Contains(actuator) ? 0.5 : double.NaN;

    /// <summary>Compares <paramref name="actuator"/>'s read-back, when the plant reports a reading taken after Aida's last
    /// write of it, with the values Aida may have left it at: one that differs from them all by more than the
    /// <see cref="DisputeTolerance"/> puts it in dispute, and one that agrees ends the dispute. A reading that still shows
    /// the value before the write, taken within one poll of it, is the read-back lagging.</summary>
    private void CompareReadBack(string actuator)
    {
        // A device back from an outage is not compared until it reads back: its first reading is where it is.
        var tolerance = DisputeTolerance(actuator);
        if (double.IsNaN(tolerance) || !_lastWrite.TryGetValue(actuator, out var last) || !_readback.TryGetValue(actuator, out var point)
            || _backUnread.ContainsKey(actuator))
        {
            return;
        }

        var reading = _inner.Read(point);
        if (!double.IsFinite(reading.Value) || reading.Timestamp <= last.At)
        {
            return;
        }

        bool Near(double x) => Math.Abs(reading.Value - x) <= tolerance;
        if (Near(Commanded(actuator)) || Unconfirmed(actuator).Any(Near))
        {
            _dismissed.Remove(actuator);
            if (_disputed.Remove(actuator))
            {
                _audit?.Append(_actor, AuditKind.Observation, actuator, $"{DisputeEnded}{Text(reading.Value)} agrees again with {Text(Commanded(actuator))} as written");
            }

            return;
        }

        var interval = _inner.Points[point].Interval;
        if (Near(last.Before) && reading.Timestamp < last.At + interval)
        {
            return;
        }

        // The reading a person dismissed as lying: still that, still dismissed; anything else is judged afresh.
        if (_dismissed.TryGetValue(actuator, out var lie) && Near(lie))
        {
            return;
        }

        _dismissed.Remove(actuator);

        if (!_disputed.TryGetValue(actuator, out var was) || Math.Abs(was.Value - reading.Value) > tolerance)
        {
            var judged = IsOnOff(actuator)
                ? "switched by another writer (a person at the panel, another controller), or a read-back that lies; listed until they agree, a write is confirmed, or a person adopts or dismisses the read-back"
                : "moved by another writer, or a read-back that lies; its steps are judged from both until they agree, a write is confirmed, or a person adopts or dismisses the read-back";
            _audit?.Append(_actor, AuditKind.Observation, actuator, $"{DisputeNoted}{Text(reading.Value)} (read at {reading.Timestamp:u}), where Aida last wrote {Text(Commanded(actuator))}: {judged}");
            _disputed[actuator] = (reading.Value, reading.Timestamp);
        }
    }

    /// <summary>Drops the values taken up after a restart for each actuator the plant now reports a reading of: where it
    /// is, is known. Regression (session 38): kept until a write was confirmed, the value last written before the restart
    /// and a read-back that differed from it by more than two steps left no write both steps would take, so the actuator
    /// could never be written again. <c>aida run</c> restarted on the embedded twin (whose plant starts again at its
    /// design set points) refused every CDU set point, "a step of 5.605 celsius from 23.395", as would a site whose
    /// controller went back to its defaults, or a person's change at the panel, while Aida was down.</summary>
    private void ForgetTakenUpOnceRead()
    {
        if (_takenUpUntilRead.Count == 0)
        {
            return;
        }

        foreach (var name in _takenUpUntilRead.Where(n => _inner.Read(_readback[n]) is { IsMissing: false } reading && !IsDismissed(n, reading.Value)).ToList())
        {
            _unconfirmed.Remove(name);
            _takenUpUntilRead.Remove(name);
        }
    }

    /// <summary>Notes each actuator written this run whose device came back since the last write (answered again after
    /// its collector lost it, or found restarted between two polls by its uptime): a device that restarted meanwhile
    /// went back to its own settings (a CDU controller to its default set point), so where Aida wrote it is now only a value it may be at, and it is not written until it reads back. Its
    /// first read-back from after the device's return is where it is, adopted as a person would with
    /// <see cref="AdoptReadBack"/>, as the guard does after its own restart (<see cref="ForgetTakenUpOnceRead"/>).
    /// Regression (session 46): the twin served again on its ports read its CDU set points back at its default 30 °C,
    /// where Aida had written 28; judged in dispute, every move the optimiser planned was refused (3 K from the
    /// reading) until a person adopted the read-backs. A read-back a person dismissed as lying stays judged as before, and
    /// so does an on/off actuator: its dispute changes no judgement (the interlocks count what the plant reports) and is
    /// what tells a person that, say, the leaking rack Aida isolated came back powered after its BMC restarted.</summary>
    private void NoteDevicesBack()
    {
        if (_devices is null)
        {
            return;
        }

        foreach (var (name, last) in _lastWrite)
        {
            if (_devices.ReturnOf(_actuatorIndex[name]) is not { } back || back.At <= last.At || !_readback.ContainsKey(name)
                || _switches.Contains(name) || _dismissed.ContainsKey(name) || (_backUnread.TryGetValue(name, out var noted) && noted.At >= back.At))
            {
                continue;
            }

            if (!_backUnread.ContainsKey(name))
            {
                List<double> maybe = [.. (_commanded.TryGetValue(name, out var written) ? [written] : Array.Empty<double>()).Concat(Unconfirmed(name)).Distinct()];
                _commanded.Remove(name);
                _unconfirmed[name] = maybe;
                _disputed.Remove(name);
                _audit?.Append(_actor, AuditKind.Observation, name, $"its device {back.How}: it may be back at its own settings, so it is not written until it reads back (Aida last wrote {string.Join(" or ", maybe.Select(Text))})");
            }

            _backUnread[name] = back;
        }

        foreach (var (name, back) in _backUnread.ToList())
        {
            if (_inner.Read(_readback[name]) is not { IsMissing: false } reading || reading.Timestamp < back.At)
            {
                continue;
            }

            _backUnread.Remove(name);
            Adopt(name, reading.Value, reading.Timestamp, string.Join(" or ", Unconfirmed(name).Select(Text)), _actor,
                $"its device {back.How}, and is where it reads");
        }
    }

    /// <summary>Takes <paramref name="actuator"/> to be at its read-back <paramref name="value"/> (read at
    /// <paramref name="readAt"/>) in place of what Aida wrote, audited as <paramref name="by"/>'s decision in the form a
    /// restart's take-up reads back (<see cref="TakeUp"/>): a person's adoption, or the guard's once a device came back.</summary>
    /// <returns>The audited text.</returns>
    private string Adopt(string actuator, double value, DateTimeOffset readAt, string inPlaceOf, string by, string reason)
    {
        _disputed.Remove(actuator);
        _unconfirmed.Remove(actuator);
        _commanded[actuator] = value;
        _lastWrite[actuator] = (readAt, value);
        var what = $"{actuator}{AdoptedReadBack}{Text(value)} (read at {readAt:u}) in place of {inPlaceOf} as written by Aida: {reason}";
        _audit?.Append(by, AuditKind.Decision, actuator, what);
        return what;
    }

    /// <summary>The refusal of a write to <paramref name="actuator"/> while its device, back from an outage, has not read
    /// it back (<see cref="NoteDevicesBack"/>); null otherwise.</summary>
    private SafetyVerdict? BackUnread(string actuator) =>
        _backUnread.TryGetValue(actuator, out var back)
            ? SafetyVerdict.RefuseForNow(HoldCause.DeviceBackUnread, $"{actuator}: its device {back.How}, and has not read it back since: it may be back at its own settings, so it is not written until the plant reports where it is")
            : null;

    /// <summary>The refusal, for now, of a write the plant would not send (its device down, the last write to it failed:
    /// <see cref="IDeviceAvailability.WritesHeldBack"/>); null otherwise. Refused for now, the optimiser defers the move
    /// (one line a plan in the audit log, not a write and its result per actuator) and a patient runbook waits for the
    /// device; before session 46 each was sent to the plant, which answered "not sent".</summary>
    private SafetyVerdict? HeldBack(ActuatorInfo actuator) =>
        _devices?.WritesHeldBack(actuator.Index) == true
            ? SafetyVerdict.RefuseForNow(HoldCause.DeviceDown, $"{actuator.Name}: not written while its device is down (its collector's polls fail, and the last write to it failed): written again once the collector reaches it")
            : null;

    /// <summary>Takes up, after a restart, what the guard knew of the plant before it: the writes on record in
    /// <paramref name="audit"/> (by any writer through a guard on this log). Each actuator written before may still be at
    /// its last written value (and at any write left unconfirmed since), so its next step and the interlocks are judged
    /// from those values as well as from its design state, until a write of it is confirmed or, for one the plant reads
    /// back, until the plant reports a reading of it (then it is where it reads): a rack
    /// isolated before the restart still counts against the racks that may be isolated at once, a chiller stopped still
    /// counts as stopped. The changes and writes of the last minute count against the rate limits again; a change whose
    /// value before is not on record (the first write of a set point, judged from its read-back then) counts as the
    /// actuator's whole rate.</summary>
    /// <returns>What was taken up (nothing on a fresh log).</returns>
    private GuardTakeUp TakeUp(AuditLog audit)
    {
        var actuators = _inner.Actuators.ToDictionary(a => a.Name, StringComparer.Ordinal);
        var sent = new Dictionary<(string Actor, string Actuator), double>();
        var last = new Dictionary<string, double>(StringComparer.Ordinal);
        var maybe = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var changes = new List<(DateTimeOffset At, string Actuator, double Change)>();
        var writes = new List<DateTimeOffset>();
        var now = _clock.GetUtcNow();
        var futureDated = 0;
        var disputed = new Dictionary<string, double>(StringComparer.Ordinal);
        var dismissed = new Dictionary<string, double>(StringComparer.Ordinal);
        audit.Scan([AuditKind.Action, AuditKind.Result], e =>
        {
            // An earlier restart: from it, that guard judged each actuator that reads back from its reading, which the log
            // does not keep, so the value before its next write is not on record (its change counts as the whole rate).
            if (e.Kind == AuditKind.Observation && e.Subject == EnvelopeSubject && e.Detail.StartsWith(TakenUpNote, StringComparison.Ordinal))
            {
                foreach (var name in _readback.Keys)
                {
                    last.Remove(name);
                    maybe.Remove(name);
                    disputed.Remove(name);
                }

                return;
            }

            if (!actuators.ContainsKey(e.Subject))
            {
                return;
            }

            // A read-back in dispute when a write was made counted in its change (the step is judged from it too); an
            // operator's adoption is a value on record.
            if (e.Kind is AuditKind.Observation or AuditKind.Decision)
            {
                if (e.Kind == AuditKind.Observation && ValueAfter(e.Detail, DisputeNoted) is { } noted)
                {
                    disputed[e.Subject] = noted;
                }
                else if (e.Kind == AuditKind.Observation && e.Detail.StartsWith(DisputeEnded, StringComparison.Ordinal))
                {
                    disputed.Remove(e.Subject);
                }
                else if (e.Kind == AuditKind.Decision && ValueAfter(e.Detail, e.Subject + AdoptedReadBack) is { } adopted)
                {
                    disputed.Remove(e.Subject);
                    dismissed.Remove(e.Subject);
                    maybe.Remove(e.Subject);
                    last[e.Subject] = adopted;
                }
                else if (e.Kind == AuditKind.Decision && ValueAfter(e.Detail, e.Subject + DismissedReadBack) is { } lie)
                {
                    disputed.Remove(e.Subject);
                    dismissed[e.Subject] = lie;
                }

                return;
            }

            if (e.Kind == AuditKind.Action)
            {
                if (double.TryParse(e.Detail, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                {
                    sent[(e.Actor, e.Subject)] = v;
                }

                return;
            }

            if (!sent.Remove((e.Actor, e.Subject), out var value) || e.Detail.StartsWith("refused: ", StringComparison.Ordinal))
            {
                return;
            }

            // Passed the envelope and sent: it counts against the writes per minute whatever the plant answered. A write
            // dated after now (the clock went back since) counts as written now: dated as written, it would hold the
            // rate limits for as long as the clock went back.
            var at = e.At;
            if (at > now)
            {
                at = now;
                futureDated++;
            }

            writes.Add(at);
            var confirmed = e.Detail == "accepted";
            if (!confirmed && !e.Detail.StartsWith(nameof(WriteStatus.Unconfirmed) + ":", StringComparison.Ordinal))
            {
                return;
            }

            var known = last.TryGetValue(e.Subject, out var before) ? before : _envelope.DesignState.GetValueOrDefault(e.Subject, double.NaN);
            var others = maybe.GetValueOrDefault(e.Subject) ?? [];
            // With no value before on record (its first confirmed write: judged then from its read-back, which the log
            // does not keep), the change counts as the whole rate, unconfirmed writes before it or not. Judged from those
            // alone, a confirmed write of the value an unconfirmed one had asked for counted 0 (the moves property's
            // counterexample: 25 -> 24.5 unconfirmed and not applied, 24.5 confirmed, a restart, 23.7: 1.3 K within a
            // minute against 1 K).
            var change = double.IsNaN(known)
                ? _envelope.Spec.RuleFor(e.Subject)?.MaxChangePerMinute ?? others.Select(x => Math.Abs(value - x)).DefaultIfEmpty(0).Max()
                : others.Append(known).Max(x => Math.Abs(value - x));
            if (disputed.TryGetValue(e.Subject, out var readBack))
            {
                change = Math.Max(change, Math.Abs(value - readBack));
            }

            changes.Add((at, e.Subject, change));
            if (confirmed)
            {
                last[e.Subject] = value;
                maybe.Remove(e.Subject);
                disputed.Remove(e.Subject);
            }
            else
            {
                maybe.TryAdd(e.Subject, others);
                others.Add(value);
            }
        },
        [
            (AuditKind.Observation, TakenUpNote + "*"), (AuditKind.Observation, DisputeNoted + "*"), (AuditKind.Observation, DisputeEnded + "*"),
            (AuditKind.Decision, "*" + AdoptedReadBack + "*"), (AuditKind.Decision, "*" + DismissedReadBack + "*"),
        ]);

        lock (_lock)
        {
            foreach (var name in last.Keys.Concat(maybe.Keys).Distinct(StringComparer.Ordinal))
            {
                List<double> values = [.. last.TryGetValue(name, out var l) ? [l] : Array.Empty<double>(), .. maybe.GetValueOrDefault(name) ?? []];
                _unconfirmed[name] = values;
                if (_readback.ContainsKey(name))
                {
                    _takenUpUntilRead.Add(name);
                }
            }

            foreach (var (name, lie) in dismissed)
            {
                _dismissed[name] = lie;
            }

            var recentChanges = changes.Where(c => now - c.At < TimeSpan.FromMinutes(1)).ToList();
            foreach (var (at, name, change) in recentChanges)
            {
                CountChange(name, at, change);
            }

            var recentWrites = writes.Where(at => now - at < TimeSpan.FromMinutes(1)).ToList();
            foreach (var at in recentWrites)
            {
                _writes.Enqueue(at);
            }

            return new GuardTakeUp(
                [.. _unconfirmed.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, (IReadOnlyList<double>)kv.Value, _readback.ContainsKey(kv.Key)))],
                recentChanges.Count,
                recentWrites.Count,
                futureDated);
        }
    }

    /// <summary>The value last accepted for <paramref name="actuator"/> from any writer through this guard (a runbook's
    /// as well as the optimiser's), or adopted from its read-back once its device came back from an outage (noted here
    /// first, so that a plan starts from it: planned from Aida's last write, the first plan after a device's return moved
    /// from 28 °C to 27 °C where the CDU read 30 °C, and was refused); false when none is known.</summary>
    public bool TryGetWritten(string actuator, out double value)
    {
        lock (_lock)
        {
            NoteDevicesBack();
            return _commanded.TryGetValue(actuator, out value);
        }
    }

    /// <summary>The actuator's value as last accepted, else its read-back point, else its design state, else NaN.</summary>
    public double Commanded(string actuator)
    {
        if (_commanded.TryGetValue(actuator, out var v))
        {
            return v;
        }

        if (_readback.TryGetValue(actuator, out var point) && _inner.Read(point) is { IsMissing: false } reading
            && !(_backUnread.TryGetValue(actuator, out var back) && reading.Timestamp < back.At))
        {
            return reading.Value;
        }

        return _envelope.DesignState.GetValueOrDefault(actuator, double.NaN);
    }

    public IReadOnlyList<double> Unconfirmed(string actuator) => _unconfirmed.TryGetValue(actuator, out var maybe) ? maybe : [];

    public double Disputed(string actuator) => _disputed.TryGetValue(actuator, out var reading) ? reading.Value : double.NaN;

    public bool ReadsBack(string actuator) => _readback.ContainsKey(actuator);

    public bool? ReportedOn(string actuator) =>
        _reported.TryGetValue(actuator, out var point) && _inner.Read(point) is { IsMissing: false } reading && double.IsFinite(reading.Value)
            ? reading.Value >= 0.5
            : null;

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

    /// <summary>Counts a change of <paramref name="actuator"/> made at <paramref name="at"/> against its rate limit.</summary>
    private void CountChange(string actuator, DateTimeOffset at, double change)
    {
        if (!_changes.TryGetValue(actuator, out var changes))
        {
            changes = new Queue<(DateTimeOffset, double)>();
            _changes[actuator] = changes;
        }

        changes.Enqueue((at, change));
    }

    private static string Text(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    // The audit entries the take-up reads back after a restart (besides the writes): an earlier take-up, a read-back in
    // dispute and its end, a person's adoption or dismissal of one.
    private const string EnvelopeSubject = "safety-envelope";
    private const string TakenUpNote = "taken up after a restart: ";
    private const string DisputeNoted = "the plant reads it back at ";
    private const string DisputeEnded = "the read-back ";
    private const string AdoptedReadBack = ": adopted the read-back ";
    private const string DismissedReadBack = ": dismissed the read-back ";

    /// <summary>The number that follows <paramref name="prefix"/> at the start of <paramref name="detail"/>, up to a space.</summary>
    private static double? ValueAfter(string detail, string prefix)
    {
        if (!detail.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = detail.AsSpan(prefix.Length);
        var end = rest.IndexOf(' ');
        return double.TryParse(end < 0 ? rest : rest[..end], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
    }
}

/// <summary>What a guard took up from the audit log after a restart (<see cref="GuardedPlant.TakenUp"/>).</summary>
/// <param name="MayBeAt">Each actuator written before, the values it may still be at, and whether the plant reads it
/// back (a setpoint; an on/off actuator such as a rack's isolation does not, so only the audit log knew it).</param>
/// <param name="Changes">Changes within the last minute counted against the rate limits again.</param>
/// <param name="Writes">Writes within the last minute counted against the writes per minute again.</param>
/// <param name="FutureDated">Writes on record dated after the restart (the clock went back since), counted as written at
/// the restart.</param>
public sealed record GuardTakeUp(IReadOnlyList<(string Actuator, IReadOnlyList<double> Values, bool ReadsBack)> MayBeAt, int Changes, int Writes, int FutureDated = 0)
{
    public static GuardTakeUp None { get; } = new([], 0, 0);

    public bool Nothing => MayBeAt.Count == 0 && Changes == 0 && Writes == 0;

    /// <summary>The line <c>aida run</c> prints after <c>resuming: </c> (null when nothing was taken up).</summary>
    public string? Resumed => Nothing ? null : "the safety envelope takes up the audit log's writes: " + Describe();

    /// <summary>One line for <c>aida run</c> and the audit: how many actuators, and those the plant does not read back
    /// with their values (the first ten).</summary>
    public string Describe()
    {
        var blind = MayBeAt.Where(m => !m.ReadsBack).ToList();
        var shown = string.Join(", ", blind.Take(10).Select(m => $"{m.Actuator} {string.Join(" or ", m.Values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}"));
        var more = blind.Count > 10 ? $", and {blind.Count - 10} more" : "";
        return $"{MayBeAt.Count} actuator(s) may still be at the values last written before the restart, {blind.Count} of them not read back"
            + (blind.Count > 0 ? $" ({shown}{more})" : "")
            + $"; {Changes} change(s) and {Writes} write(s) of the last minute count against the rate limits again"
            + (FutureDated > 0 ? $"; {FutureDated} write(s) on record are dated after now (the clock went back?) and count as written now" : "");
    }
}
