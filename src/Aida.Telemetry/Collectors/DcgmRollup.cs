using System.Globalization;
using Aida.Model.Plant;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.Collectors;

/// <summary>Rolls the DCGM exporter's per-GPU series up into the plant's GPU points a site's devices do not serve: each
/// rack's thermally throttled GPUs (<c>aida_rack_gpus_throttled</c>) and each hall's GPU temperature histogram
/// (<c>aida_gpu_temperature_celsius_bucket</c>, whose <c>+Inf</c> bucket counts the hall's GPUs), as a Prometheus recording
/// rule would. The GPU SLOs (<c>gpu-throttle-free</c>, <c>training-thermal-goodput</c>, <c>training-goodput</c>) read these
/// points, so a site collected over the network has those budgets.</summary>
/// <remarks>
/// <para>Each <see cref="Write"/> reads the newest sample, within <see cref="Freshness"/>, of every
/// <c>DCGM_FI_DEV_GPU_TEMP</c> series: a GPU whose newest sample is older, or a staleness marker (its exporter down), is
/// left out of its rack's and hall's counts. A GPU counts as throttled when its <c>DCGM_FI_DEV_CLOCKS_EVENT_REASONS</c>
/// (or, from DCGM before 3.2, <c>DCGM_FI_DEV_CLOCK_THROTTLE_REASONS</c>) has a thermal slowdown bit
/// (<see cref="GpuClockEvents.Thermal"/>); a GPU whose exporter serves no reasons counts as throttled at or above the
/// design's slowdown temperature, and is counted in <see cref="RollupResult.InferredGpus"/>.</para>
/// <para>A GPU series is placed by its <c>rack</c> label (its hall from the design), else by its <c>hall</c> label (the
/// histogram only); one with neither (a DCGM exporter whose scrape adds no <c>rack</c> label) is counted in
/// <see cref="RollupResult.UnplacedGpus"/>. A rack or hall with no fresh GPU gets no sample: missing, not zero.</para>
/// <para>Points are written with the design's labels, stamped at the write. A point some collector already delivers (a
/// sample within <see cref="Freshness"/> that this roll-up did not write) is left to that collector.</para>
/// </remarks>
public sealed class DcgmRollup
{
    public const string ThrottledMetric = "aida_rack_gpus_throttled";
    public const string HistogramMetric = "aida_gpu_temperature_celsius_bucket";
    public const string TemperatureMetric = "DCGM_FI_DEV_GPU_TEMP";

    /// <summary>How old a GPU's newest sample may be and still count.</summary>
    public static readonly TimeSpan Freshness = TimeSpan.FromMinutes(1);

    private readonly ISeriesSource _store;
    private readonly ISampleAppender _appender;
    private readonly double _slowdownCelsius;
    private readonly Dictionary<string, Target> _racks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (double Le, Target Target)[]> _halls = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _hallOfRack = new(StringComparer.Ordinal);

    /// <param name="design">The plant's points by design: the targets are its <see cref="ThrottledMetric"/> points (with a
    /// <c>rack</c> label) and its <see cref="HistogramMetric"/> points (with <c>hall</c> and <c>le</c>).</param>
    /// <param name="store">Where the DCGM series are read.</param>
    /// <param name="appender">Where the points are written (the store, or a forwarder in front of it).</param>
    /// <param name="slowdownCelsius">The design GPU's slowdown temperature, for GPUs served without clock event reasons.</param>
    public DcgmRollup(IReadOnlyList<PointInfo> design, ISeriesSource store, ISampleAppender appender, double slowdownCelsius)
    {
        ArgumentNullException.ThrowIfNull(design);
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _appender = appender ?? throw new ArgumentNullException(nameof(appender));
        _slowdownCelsius = slowdownCelsius;
        var halls = new Dictionary<string, List<(double, Target)>>(StringComparer.Ordinal);
        foreach (var p in design)
        {
            if (p.Metric == ThrottledMetric && p.Labels.TryGetValue("rack", out var rack))
            {
                _racks[rack] = new Target(p);
                if (p.Labels.TryGetValue("hall", out var hall))
                {
                    _hallOfRack[rack] = hall;
                }
            }
            else if (p.Metric == HistogramMetric && p.Labels.TryGetValue("hall", out var hall) && p.Labels.TryGetValue("le", out var le)
                && UpperBound(le) is { } bound)
            {
                if (!halls.TryGetValue(hall, out var list))
                {
                    halls[hall] = list = [];
                }

                list.Add((bound, new Target(p)));
            }
        }

        foreach (var (hall, list) in halls)
        {
            _halls[hall] = [.. list.OrderBy(b => b.Item1)];
        }
    }

    /// <summary>A bucket's <c>le</c> label as a number (Prometheus writes the last as <c>+Inf</c>), or null.</summary>
    private static double? UpperBound(string le) =>
        le is "+Inf" or "Inf" ? double.PositiveInfinity
        : double.TryParse(le, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && !double.IsNaN(v) ? v : null;

    /// <summary>Whether the design has any point this roll-up writes.</summary>
    public bool HasTargets => _racks.Count > 0 || _halls.Count > 0;

    /// <summary>Reads the GPUs as of <paramref name="at"/> and writes every rack's and hall's point that has fresh GPUs.</summary>
    public RollupResult Write(DateTimeOffset at)
    {
        var end = at.ToUnixTimeMilliseconds();
        var start = end - (long)Freshness.TotalMilliseconds;
        var reasons = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var metric in new[] { GpuClockEvents.Metric, GpuClockEvents.LegacyMetric })
        {
            foreach (var (labels, v) in Newest(start, end, metric))
            {
                reasons.TryAdd(GpuKey(labels), v);
            }
        }

        var throttled = new Dictionary<string, int>(StringComparer.Ordinal);
        var atOrBelow = new Dictionary<string, int[]>(StringComparer.Ordinal); // per hall, GPUs at or below each bucket's bound
        int gpus = 0, inferred = 0, unplaced = 0;
        foreach (var (labels, celsius) in Newest(start, end, TemperatureMetric))
        {
            gpus++;
            var rack = labels.Get("rack");
            var hall = rack is not null && _hallOfRack.TryGetValue(rack, out var h) ? h : labels.Get("hall");
            if (rack is null && hall is null)
            {
                unplaced++;
                continue;
            }

            if (rack is not null && _racks.ContainsKey(rack))
            {
                bool hot;
                if (reasons.TryGetValue(GpuKey(labels), out var bits))
                {
                    hot = GpuClockEvents.IsThermal(bits);
                }
                else
                {
                    inferred++;
                    hot = celsius >= _slowdownCelsius;
                }

                throttled[rack] = throttled.GetValueOrDefault(rack) + (hot ? 1 : 0);
            }

            if (hall is not null && _halls.TryGetValue(hall, out var buckets))
            {
                if (!atOrBelow.TryGetValue(hall, out var counts))
                {
                    atOrBelow[hall] = counts = new int[buckets.Length];
                }

                for (var b = 0; b < buckets.Length; b++)
                {
                    counts[b] += celsius <= buckets[b].Le ? 1 : 0;
                }
            }
        }

        int written = 0, deferred = 0;
        foreach (var (rack, count) in throttled)
        {
            Put(_racks[rack], end, count, ref written, ref deferred);
        }

        foreach (var (hall, counts) in atOrBelow)
        {
            var buckets = _halls[hall];
            for (var b = 0; b < buckets.Length; b++)
            {
                Put(buckets[b].Target, end, counts[b], ref written, ref deferred);
            }
        }

        return new RollupResult(gpus, inferred, unplaced, written, deferred);
    }

    private void Put(Target target, long ms, double value, ref int written, ref int deferred)
    {
        if (target.Series < 0)
        {
            target.Series = _appender.GetOrCreateSeries(target.Labels);
        }

        // Another collector delivering this point (a sample this roll-up did not write) keeps it.
        foreach (var s in _store.Select(ms - (long)Freshness.TotalMilliseconds, ms, target.Matchers))
        {
            if (s.Labels.Equals(target.Labels) && s.Samples.Any(x => !target.Wrote(x.TimestampMs)))
            {
                deferred++;
                return;
            }
        }

        if (_appender.Append(target.Series, ms, value) == AppendStatus.Ok)
        {
            target.Remember(ms);
            written++;
        }
    }

    /// <summary>Which GPU a series is of, the same for its temperature and its reasons: its <c>UUID</c> (as the DCGM exporter
    /// labels it), else its labels without the metric name.</summary>
    private static string GpuKey(Labels labels) => labels.Get("UUID") is { Length: > 0 } uuid ? uuid : labels.Without(Labels.MetricNameLabel).ToString();

    /// <summary>Each series of <paramref name="metric"/> whose newest sample in the range is a number (not a staleness
    /// marker, not NaN), with that value.</summary>
    private IEnumerable<(Labels Labels, double Value)> Newest(long start, long end, string metric)
    {
        LabelMatcher[] matchers = [LabelMatcher.MetricName(metric)];
        var newest = _store is ILatestSampleSource latest
            ? latest.SelectLatest(start, end, matchers).Select(l => (l.Labels, l.Sample.Value))
            : _store.Select(start, end, matchers).Where(s => s.Samples.Count > 0).Select(s => (s.Labels, s.Samples[^1].Value));
        return newest.Where(x => !StaleMarker.Is(x.Value) && double.IsFinite(x.Value));
    }

    /// <summary>One design point written: its labels, series reference and the times this roll-up wrote it.</summary>
    private sealed class Target(PointInfo point)
    {
        private readonly Queue<long> _written = new();

        public Labels Labels { get; } = PointSeries.Labels(point);

        public LabelMatcher[] Matchers { get; } = PointSeries.Matchers(point);

        public int Series { get; set; } = -1;

        /// <summary>Whether this roll-up wrote the sample at <paramref name="ms"/> (it remembers its writes of the last
        /// <see cref="Freshness"/>, the window a write looks back over).</summary>
        public bool Wrote(long ms) => _written.Contains(ms);

        public void Remember(long ms)
        {
            _written.Enqueue(ms);
            while (_written.Count > 0 && _written.Peek() < ms - (long)Freshness.TotalMilliseconds)
            {
                _written.Dequeue();
            }
        }
    }
}

/// <param name="Gpus">GPUs with a fresh temperature.</param>
/// <param name="InferredGpus">Of those, GPUs served without clock event reasons, judged by temperature.</param>
/// <param name="UnplacedGpus">GPUs with neither a <c>rack</c> nor a <c>hall</c> label, in no count.</param>
/// <param name="Written">Points written.</param>
/// <param name="Deferred">Points left to a collector that delivers them.</param>
public sealed record RollupResult(int Gpus, int InferredGpus, int UnplacedGpus, int Written, int Deferred);
