using Aida.Model.Plant;
using Aida.Telemetry.Collectors;
using Aida.Telemetry.Series;
using Aida.Telemetry.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Aida.Telemetry.Tests.Collectors;

/// <summary>The plant's GPU points (each rack's throttled GPUs, each hall's GPU temperature histogram) rolled up from the
/// DCGM exporter's per-GPU series, as a site collected over the network has them.</summary>
public sealed class DcgmRollupTests : IDisposable
{
    private const double Slowdown = 87;
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private static readonly string[] Buckets = ["60", "80", "+Inf"];

    private readonly FakeTimeProvider _clock = new(T0);
    private readonly Tsdb _store;
    private readonly List<PointInfo> _design = [];

    public DcgmRollupTests()
    {
        _store = new Tsdb(new TsdbOptions { Clock = _clock });
        foreach (var (rack, hall) in new[] { ("r1", "h1"), ("r2", "h1"), ("r3", "h2") })
        {
            _design.Add(Point($"{rack}/gpus_throttled", DcgmRollup.ThrottledMetric, ("hall", hall), ("row", "a"), ("rack", rack)));
        }

        foreach (var hall in new[] { "h1", "h2" })
        {
            foreach (var le in Buckets)
            {
                _design.Add(Point($"{hall}/gpu_temperature_le_{le}", DcgmRollup.HistogramMetric, ("hall", hall), ("le", le)));
            }
        }
    }

    public void Dispose() => _store.Dispose();

    private PointInfo Point(string name, string metric, params (string K, string V)[] labels)
    {
        var l = labels.Prepend((K: "site", V: "s1")).ToDictionary(x => x.K, x => x.V);
        return new PointInfo(_design.Count, name, name.Split('/')[0], metric, l, "count", TimeSpan.FromSeconds(10));
    }

    /// <summary>One GPU's sample of <paramref name="metric"/>, labelled as a DCGM exporter scraped with rack labels.</summary>
    /// <param name="uuid">The GPU's UUID; empty: an exporter without the label, the GPU told apart by its <c>gpu</c> label.</param>
    private void Gpu(string metric, string uuid, double value, string? rack, string? hall = null, double secondsAgo = 0, string gpu = "0")
    {
        var labels = new List<(string, string)> { (Labels.MetricNameLabel, metric), ("gpu", gpu), ("site", "s1") };
        if (uuid.Length > 0)
        {
            labels.Add(("UUID", uuid));
        }

        if (rack is not null)
        {
            labels.Add(("rack", rack));
        }

        if (hall is not null)
        {
            labels.Add(("hall", hall));
        }

        var at = (T0 - TimeSpan.FromSeconds(secondsAgo)).ToUnixTimeMilliseconds();
        Assert.Equal(AppendStatus.Ok, _store.Append(_store.GetOrCreateSeries(Labels.From([.. labels])), at, value));
    }

    private double? Stored(string metric, params (string K, string V)[] labels)
    {
        var matchers = labels.Select(l => new LabelMatcher(l.K, MatcherType.Equal, l.V)).Prepend(LabelMatcher.MetricName(metric)).ToArray();
        var end = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        var found = _store.Select(end - 60_000, end, matchers).ToList();
        return found.Count == 0 ? null : found.Single().Samples[^1].Value;
    }

    private const string Temp = DcgmRollup.TemperatureMetric;

    [Fact]
    public void ThermalSlowdownBits_CountPerRack_AndTemperaturesFillEachHallsHistogram()
    {
        Gpu(Temp, "a", 88, "r1");
        Gpu(GpuClockEvents.Metric, "a", GpuClockEvents.SwThermalSlowdown, "r1");
        Gpu(Temp, "b", 70, "r1");
        Gpu(GpuClockEvents.Metric, "b", GpuClockEvents.SwPowerCap, "r1"); // power-capped, not hot
        Gpu(Temp, "c", 55, "r2");
        Gpu(GpuClockEvents.LegacyMetric, "c", GpuClockEvents.HwThermalSlowdown | GpuClockEvents.SwPowerCap, "r2"); // DCGM < 3.2's name
        Gpu(Temp, "d", 91, "r3");
        Gpu(GpuClockEvents.Metric, "d", 0, "r3"); // hot by temperature, but the GPU itself says it is not slowed

        var result = new DcgmRollup(_design, _store, _store, Slowdown).Write(T0);

        Assert.Equal(new RollupResult(4, 0, 0, 3 + 6, 0), result);
        Assert.Equal(1, Stored(DcgmRollup.ThrottledMetric, ("rack", "r1")));
        Assert.Equal(1, Stored(DcgmRollup.ThrottledMetric, ("rack", "r2")));
        Assert.Equal(0, Stored(DcgmRollup.ThrottledMetric, ("rack", "r3")));
        // Cumulative per upper bound, as Prometheus buckets: h1 holds 88, 70 and 55.
        Assert.Equal([1.0, 2, 3], Buckets.Select(le => Stored(DcgmRollup.HistogramMetric, ("hall", "h1"), ("le", le))!.Value));
        Assert.Equal([0.0, 0, 1], Buckets.Select(le => Stored(DcgmRollup.HistogramMetric, ("hall", "h2"), ("le", le))!.Value));

        // Written with the design's labels exactly, so the network plant reads them as the points.
        var throttled = _store.Series(0, long.MaxValue, [LabelMatcher.MetricName(DcgmRollup.ThrottledMetric), new LabelMatcher("rack", MatcherType.Equal, "r1")]).Single();
        Assert.Equal(Labels.From((Labels.MetricNameLabel, DcgmRollup.ThrottledMetric), ("site", "s1"), ("hall", "h1"), ("row", "a"), ("rack", "r1")), throttled);
    }

    [Fact]
    public void WithoutUuids_AGpusReasonsAreFoundByItsOtherLabels()
    {
        Gpu(Temp, "", 60, "r1", gpu: "0");
        Gpu(GpuClockEvents.Metric, "", GpuClockEvents.SwThermalSlowdown, "r1", gpu: "0");
        Gpu(Temp, "", 60, "r1", gpu: "1");
        Gpu(GpuClockEvents.Metric, "", 0, "r1", gpu: "1");

        var result = new DcgmRollup(_design, _store, _store, Slowdown).Write(T0);

        Assert.Equal((2, 0), (result.Gpus, result.InferredGpus));
        Assert.Equal(1, Stored(DcgmRollup.ThrottledMetric, ("rack", "r1")));
    }

    [Fact]
    public void AGpuServedWithoutReasons_IsJudgedByTheSlowdownTemperature_AndCounted()
    {
        Gpu(Temp, "a", 87, "r1");
        Gpu(Temp, "b", 86, "r1");

        var result = new DcgmRollup(_design, _store, _store, Slowdown).Write(T0);

        Assert.Equal(2, result.InferredGpus);
        Assert.Equal(1, Stored(DcgmRollup.ThrottledMetric, ("rack", "r1")));
    }

    [Fact]
    public void SilentStaleAndUnplacedGpus_AreLeftOut_AndARackWithNoFreshGpuGetsNoSample()
    {
        Gpu(Temp, "a", 88, "r1");
        Gpu(GpuClockEvents.Metric, "a", GpuClockEvents.SwThermalSlowdown, "r1");
        Gpu(Temp, "b", 88, "r2", secondsAgo: 61); // older than the roll-up's freshness
        Gpu(GpuClockEvents.Metric, "b", GpuClockEvents.SwThermalSlowdown, "r2", secondsAgo: 61);
        Gpu(Temp, "c", 88, "r3", secondsAgo: 20);
        Gpu(Temp, "c", StaleMarker.Value, "r3", secondsAgo: 5); // its exporter went down
        Gpu(Temp, "d", double.NaN, "r1"); // no reading
        Gpu(Temp, "e", 75, null); // no rack, no hall: placed nowhere
        Gpu(Temp, "f", 65, null, hall: "h2"); // a hall but no rack: the histogram only

        var result = new DcgmRollup(_design, _store, _store, Slowdown).Write(T0);

        Assert.Equal((3, 1, 0), (result.Gpus, result.UnplacedGpus, result.InferredGpus));
        Assert.Equal(1, Stored(DcgmRollup.ThrottledMetric, ("rack", "r1")));
        Assert.Null(Stored(DcgmRollup.ThrottledMetric, ("rack", "r2")));
        Assert.Null(Stored(DcgmRollup.ThrottledMetric, ("rack", "r3")));
        Assert.Equal(1, Stored(DcgmRollup.HistogramMetric, ("hall", "h1"), ("le", "+Inf")));
        Assert.Equal(1, Stored(DcgmRollup.HistogramMetric, ("hall", "h2"), ("le", "+Inf")));
    }

    [Fact]
    public void APointACollectorAlreadyDelivers_IsLeftToIt_WhileTheRollupsOwnEarlierWritesDoNotStopIt()
    {
        Gpu(Temp, "a", 88, "r1");
        Gpu(GpuClockEvents.Metric, "a", GpuClockEvents.SwThermalSlowdown, "r1");
        Gpu(Temp, "c", 50, "r3");
        Gpu(GpuClockEvents.Metric, "c", 0, "r3");
        var rollup = new DcgmRollup(_design, _store, _store, Slowdown);
        Assert.Equal(0, rollup.Write(T0).Deferred);

        // Ten seconds on: the GPUs sampled again, and a recording rule elsewhere delivers r3's count itself.
        _clock.Advance(TimeSpan.FromSeconds(10));
        var now = _clock.GetUtcNow();
        foreach (var (uuid, rack, celsius, bits) in new[] { ("a", "r1", 89.0, GpuClockEvents.SwThermalSlowdown), ("c", "r3", 50.0, 0u) })
        {
            Gpu(Temp, uuid, celsius, rack, secondsAgo: -10);
            Gpu(GpuClockEvents.Metric, uuid, bits, rack, secondsAgo: -10);
        }

        var r3 = _store.GetOrCreateSeries(Labels.From((Labels.MetricNameLabel, DcgmRollup.ThrottledMetric), ("site", "s1"), ("hall", "h2"), ("row", "a"), ("rack", "r3")));
        _store.Append(r3, now.ToUnixTimeMilliseconds() - 2_000, 7);

        var result = rollup.Write(now);

        Assert.Equal(1, result.Deferred);
        Assert.Equal(7, Stored(DcgmRollup.ThrottledMetric, ("rack", "r3")));
        Assert.Equal(1, Stored(DcgmRollup.ThrottledMetric, ("rack", "r1")));
        var r1 = _store.Select(0, long.MaxValue, [LabelMatcher.MetricName(DcgmRollup.ThrottledMetric), new LabelMatcher("rack", MatcherType.Equal, "r1")]).Single();
        Assert.Equal(2, r1.Samples.Count);
    }

    [Fact]
    public void ADesignWithoutGpuPoints_HasNothingToWrite()
    {
        var rollup = new DcgmRollup([new PointInfo(0, "cdu-1/flow", "cdu-1", "aida_cdu_flow_kg_per_second", new Dictionary<string, string>(), "kg/s", TimeSpan.FromSeconds(10))], _store, _store, Slowdown);
        Assert.False(rollup.HasTargets);
        Gpu(Temp, "a", 88, "r1");
        Assert.Equal(0, rollup.Write(T0).Written);
    }

    [Theory]
    [InlineData(0x20, true)]
    [InlineData(0x40, true)]
    [InlineData(0x60 | 0x4, true)]
    [InlineData(0x4, false)]
    [InlineData(0x1, false)]
    [InlineData(-1, false)] // not a bitmask
    [InlineData(double.NaN, false)]
    [InlineData(double.PositiveInfinity, false)]
    public void IsThermal_ReadsTheSlowdownBitsOfTheServedBitmask(double reasons, bool thermal) =>
        Assert.Equal(thermal, GpuClockEvents.IsThermal(reasons));
}
