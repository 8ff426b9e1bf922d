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
        ArrayCapacity.Grow(ref _failed, index + 1);
        _target[index] = initial;
        _value[index] = initial;
        _command[index] = initial;
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
