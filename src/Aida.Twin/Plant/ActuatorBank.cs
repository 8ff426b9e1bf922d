using Aida.Model.Plant;

namespace Aida.Twin.Plant;

/// <summary>The plant's actuators: a requested target each, a value that follows it at a rate limit, and failure.</summary>
/// <remarks>A failed actuator accepts writes and does nothing (TWIN.md: "a write that does nothing"). Out-of-range writes are refused.</remarks>
internal sealed class ActuatorBank
{
    private readonly List<ActuatorInfo> _info = [];
    private readonly Dictionary<string, int> _byName = new(StringComparer.Ordinal);
    private double[] _target = [];
    private double[] _value = [];
    private double[] _command = [];
    private double[] _initial = [];
    private bool[] _failed = [];

    public IReadOnlyList<ActuatorInfo> Info => _info;

    public int Add(string asset, string setting, string unit, double min, double max, double ratePerSecond, double initial)
    {
        var index = _info.Count;
        var name = $"{asset}/{setting}";
        _info.Add(new ActuatorInfo(index, name, asset, unit, min, max, ratePerSecond));
        _byName.Add(name, index);
        ArrayCapacity.Grow(ref _target, index + 1);
        ArrayCapacity.Grow(ref _value, index + 1);
        ArrayCapacity.Grow(ref _command, index + 1);
        ArrayCapacity.Grow(ref _initial, index + 1);
        ArrayCapacity.Grow(ref _failed, index + 1);
        _target[index] = initial;
        _value[index] = initial;
        _command[index] = initial;
        _initial[index] = initial;
        return index;
    }

    public int Find(string name) => _byName.TryGetValue(name, out var i) ? i : -1;

    public double Value(int i) => _value[i];

    public double Target(int i) => _target[i];

    /// <summary>The last value written and accepted: what the control system that wrote it reads back as its command,
    /// whether or not the actuator followed (a failed one keeps its old target).</summary>
    public double Command(int i) => _command[i];

    public void SetFailed(int i, bool failed) => _failed[i] = failed;

    /// <summary>Sets value and target at once, bypassing the rate limit: for initial conditions only.</summary>
    public void Initialise(int i, double value)
    {
        _target[i] = value;
        _value[i] = value;
        _command[i] = value;
        _initial[i] = value;
    }

    /// <summary>Each actuator whose command, target or value is no longer its initial one, with all three.</summary>
    public List<(int Actuator, double Command, double Target, double Value)> Moved()
    {
        var moved = new List<(int, double, double, double)>();
        for (var i = 0; i < _info.Count; i++)
        {
            if (_command[i] != _initial[i] || _target[i] != _initial[i] || _value[i] != _initial[i])
            {
                moved.Add((i, _command[i], _target[i], _value[i]));
            }
        }

        return moved;
    }

    /// <summary>Refuses what <see cref="Restore"/> would refuse.</summary>
    /// <exception cref="ArgumentException">One is not a number within the actuator's range.</exception>
    public void CheckRestore(int i, double command, double target, double value)
    {
        var info = _info[i];
        foreach (var (what, v) in new[] { ("command", command), ("target", target), ("value", value) })
        {
            if (!double.IsFinite(v) || v < info.Min || v > info.Max)
            {
                throw new ArgumentException($"{info.Name}: {what} {v.ToString(System.Globalization.CultureInfo.InvariantCulture)} {info.Unit} is not within [{info.Min.ToString(System.Globalization.CultureInfo.InvariantCulture)}, {info.Max.ToString(System.Globalization.CultureInfo.InvariantCulture)}]");
            }
        }
    }

    /// <summary>Puts an actuator back where it was (a restart of the twin): its command, its target and its value, each
    /// within its range.</summary>
    /// <exception cref="ArgumentException">One is not a number within the actuator's range.</exception>
    public void Restore(int i, double command, double target, double value)
    {
        CheckRestore(i, command, target, value);
        _command[i] = command;
        _target[i] = target;
        _value[i] = value;
    }

    public WriteResult Write(int i, double value)
    {
        if ((uint)i >= (uint)_info.Count)
        {
            return new WriteResult(WriteStatus.UnknownActuator, $"no actuator with index {i}");
        }

        var info = _info[i];
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            return new WriteResult(WriteStatus.NotANumber, $"{info.Name}: {value} is not a number");
        }

        if (value < info.Min || value > info.Max)
        {
            return new WriteResult(WriteStatus.OutOfRange, $"{info.Name}: {value} {info.Unit} is outside [{info.Min}, {info.Max}]");
        }

        _command[i] = value;
        if (!_failed[i])
        {
            _target[i] = value;
        }

        return new WriteResult(WriteStatus.Accepted, "");
    }

    /// <summary>Moves every value toward its target by at most its rate limit.</summary>
    public void Step(double dt)
    {
        for (var i = 0; i < _info.Count; i++)
        {
            var diff = _target[i] - _value[i];
            if (diff == 0)
            {
                continue;
            }

            var max = _info[i].MaxRatePerSecond * dt;
            _value[i] += Math.Clamp(diff, -max, max);
        }
    }
}
