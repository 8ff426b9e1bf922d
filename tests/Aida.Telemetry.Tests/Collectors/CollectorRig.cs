using Aida.Model.Plant;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.Collectors;

/// <summary>A store, a sink and a fake clock for one collector test.</summary>
internal sealed class CollectorRig : IDisposable
{
    public static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    public CollectorRig(TimeProvider? clock = null, string site = "s1")
    {
        Clock = clock ?? new FakeTimeProvider(T0);
        Store = new Tsdb(new TsdbOptions { Clock = Clock, FutureTolerance = TimeSpan.FromDays(3650) });
        Sink = new CollectorSink(Store, Labels.From(("site", site)), Clock, Log);
    }

    public TimeProvider Clock { get; }

    public FakeTimeProvider Fake => (FakeTimeProvider)Clock;

    public Tsdb Store { get; }

    public StringWriter Log { get; } = new();

    public CollectorSink Sink { get; }

    public CollectorSettings Settings(string name, TimeSpan? interval = null, TimeSpan? timeout = null, Labels? labels = null) =>
        new(name, labels ?? Labels.Empty, interval ?? TimeSpan.FromSeconds(15), timeout ?? TimeSpan.FromSeconds(5), Clock, new Random(1));

    /// <summary>Every stored series of a metric with its samples.</summary>
    public List<SeriesSamples> Series(string metric) =>
        Store.Select(long.MinValue / 2, long.MaxValue / 2, [LabelMatcher.MetricName(metric)]).ToList();

    /// <summary>The samples of the one series matching all the pairs.</summary>
    public IReadOnlyList<Sample> Samples(string metric, params (string Name, string Value)[] labels)
    {
        var matching = Series(metric).Where(s => labels.All(l => s.Labels.Get(l.Name) == l.Value)).ToList();
        Assert.True(matching.Count == 1, $"{matching.Count} series of {metric} match; have: {string.Join("; ", Series(metric).Select(s => s.Labels))}");
        return matching[0].Samples;
    }

    public double Last(string metric, params (string Name, string Value)[] labels) => Samples(metric, labels)[^1].Value;

    public void Dispose() => Store.Dispose();
}

/// <summary>A plant of named points and actuators whose readings a test sets.</summary>
internal sealed class FakePlant : IPlant
{
    private readonly List<PointInfo> _points = [];
    private readonly List<ActuatorInfo> _actuators = [];
    private readonly List<PointReading> _readings = [];

    public List<(string Name, double Value)> Writes { get; } = [];

    /// <summary>Whether a write also sets the point of the same name (a device that reports its setting at once).</summary>
    public bool EchoWrites { get; init; }

    public IReadOnlyList<PointInfo> Points => _points;

    public IReadOnlyList<ActuatorInfo> Actuators => _actuators;

    public int AddPoint(string asset, string quantity, string metric, double value, params (string Name, string Value)[] labels)
    {
        var dict = new Dictionary<string, string>(StringComparer.Ordinal) { ["site"] = "s1" };
        foreach (var (k, v) in labels)
        {
            dict[k] = v;
        }

        var i = _points.Count;
        _points.Add(new PointInfo(i, $"{asset}/{quantity}", asset, metric, dict, "unit", TimeSpan.FromSeconds(10)));
        _readings.Add(new PointReading(value, CollectorRig.T0));
        return i;
    }

    public void AddActuator(string asset, string setting, double min, double max) =>
        _actuators.Add(new ActuatorInfo(_actuators.Count, $"{asset}/{setting}", asset, "unit", min, max, 1));

    public void Set(string name, double value, DateTimeOffset at) => _readings[this.Point(name)] = new PointReading(value, at);

    public PointReading Read(int point) => _readings[point];

    public WriteResult Write(int actuator, double value)
    {
        var a = _actuators[actuator];
        if (value < a.Min || value > a.Max)
        {
            return new WriteResult(WriteStatus.OutOfRange, $"{a.Name}: {value} is outside [{a.Min}, {a.Max}]");
        }

        lock (Writes)
        {
            Writes.Add((a.Name, value));
            if (EchoWrites && this.Point(a.Name) is var p and >= 0)
            {
                _readings[p] = new PointReading(value, _readings[p].Timestamp);
            }
        }

        return new WriteResult(WriteStatus.Accepted, "");
    }
}
