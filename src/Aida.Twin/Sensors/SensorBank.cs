using Aida.Model.Plant;
using Aida.Twin.Physics;
using Aida.Twin.Plant;

namespace Aida.Twin.Sensors;

/// <summary>The plant's measurement points: each samples the truth at its own interval, adds noise and quantisation, and may be faulty.</summary>
/// <remarks>Between samples a point holds its last value, as a BMS or exporter does. Sensor faults act here only; the plant is untouched.</remarks>
internal sealed class SensorBank(int seed)
{
    private readonly List<PointInfo> _info = [];
    private readonly List<Func<double>> _truth = [];
    private readonly Dictionary<string, int> _byName = new(StringComparer.Ordinal);
    private readonly Random _random = new(seed);
    private double[] _sigma = [];
    private double[] _quantum = [];
    private double[] _interval = [];
    private double[] _next = [];
    private double[] _value = [];
    private double[] _sampledAt = [];
    private SensorFault[] _fault = [];

    public IReadOnlyList<PointInfo> Info => _info;

    /// <summary>Told of every sample taken; null when nobody records telemetry.</summary>
    public IPlantSampleSink? Sink { get; set; }

    /// <summary>Unix milliseconds of plant time zero, for the sink's timestamps.</summary>
    public long StartMs { get; set; }

    public int Add(string asset, string quantity, string metric, IReadOnlyDictionary<string, string> labels, string unit,
        TimeSpan interval, double sigma, double quantum, Func<double> truth)
    {
        var index = _info.Count;
        var name = $"{asset}/{quantity}";
        _info.Add(new PointInfo(index, name, asset, metric, labels, unit, interval));
        _truth.Add(truth);
        _byName.Add(name, index);
        var n = index + 1;
        ArrayCapacity.Grow(ref _sigma, n);
        ArrayCapacity.Grow(ref _quantum, n);
        ArrayCapacity.Grow(ref _interval, n);
        ArrayCapacity.Grow(ref _next, n);
        ArrayCapacity.Grow(ref _value, n);
        ArrayCapacity.Grow(ref _sampledAt, n);
        ArrayCapacity.Grow(ref _fault, n);
        _sigma[index] = sigma;
        _quantum[index] = quantum;
        _interval[index] = interval.TotalSeconds;
        _value[index] = double.NaN;
        _sampledAt[index] = double.NaN;
        return index;
    }

    public int Find(string name) => _byName.TryGetValue(name, out var i) ? i : -1;

    public void SetFault(int point, SensorFault fault) => _fault[point] = fault;

    public void ClearFault(int point) => _fault[point] = default;

    /// <summary>The latest sample, or NaN before the first; <paramref name="sampledAt"/> is seconds since start.</summary>
    public double Read(int point, out double sampledAt)
    {
        sampledAt = _sampledAt[point];
        return _value[point];
    }

    /// <summary>The noiseless, fault-free value now: for ground-truth evaluation only.</summary>
    public double Truth(int point) => _truth[point]();

    /// <summary>Makes every point due, so the next <see cref="Sample"/> reads them all.</summary>
    public void Resample() => Array.Clear(_next);

    /// <summary>Takes a sample of every point whose interval has come round.</summary>
    public void Sample(double now)
    {
        for (var i = 0; i < _info.Count; i++)
        {
            if (now + 1e-9 < _next[i])
            {
                continue;
            }

            _next[i] = now + _interval[i];
            _sampledAt[i] = now;
            _value[i] = Measure(i, now);
            Sink?.PointSampled(i, StartMs + (long)Math.Round(now * 1000), _value[i]);
        }
    }

    private double Measure(int i, double now)
    {
        var f = _fault[i];
        switch (f.Kind)
        {
            case SensorFaultKind.Dropout:
                return double.NaN;
            case SensorFaultKind.Stuck:
                return f.Value;
        }

        var v = _truth[i]();
        var sigma = _sigma[i] + (f.Kind == SensorFaultKind.Noise ? f.Value : 0);
        if (sigma > 0)
        {
            v += sigma * _random.NextGaussian();
        }

        if (f.Kind == SensorFaultKind.Drift)
        {
            v += f.Value * (now - f.Since) / 3600;
        }

        var q = _quantum[i];
        return q > 0 ? Math.Round(v / q) * q : v;
    }
}

internal enum SensorFaultKind : byte
{
    None,
    Stuck,
    Drift,
    Noise,
    Dropout,
}

/// <summary>A fault on one sensor: for stuck the frozen value, for drift the rate per hour, for noise the extra sigma.</summary>
internal readonly record struct SensorFault(SensorFaultKind Kind, double Value, double Since);
