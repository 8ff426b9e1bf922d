using System.Globalization;
using Aida.Telemetry.Series;

namespace Aida.Observability.Anomalies;

/// <summary>Runs every single-series detector over one series' samples: robust outliers (rolling, or seasonal once
/// the series spans two days), CUSUM change points, stuck readings, dropouts and counter resets.</summary>
/// <remarks>Non-finite samples (NaN, staleness markers, ±Inf) are counted and skipped before any detector sees the
/// series. Every detector walks the samples in time order and uses only samples before the one it judges, so a
/// streaming caller gets the same answers by re-running over a trailing window; nothing reads the clock.</remarks>
public static class SeriesAnomalies
{
    /// <summary>Scans <paramref name="series"/>.</summary>
    /// <param name="windowEnd">The end of the range the samples were selected from: a series that stops before it by
    /// more than the dropout limit has an open dropout. Null: only gaps between samples count.</param>
    /// <param name="coupled">A physically coupled series (a CDU's return temperature for its supply): if it moves
    /// while this one is flat, the flat run is stuck even without history.</param>
    public static SeriesScan Scan(SeriesSamples series, AnomalyOptions? options = null, DateTimeOffset? windowEnd = null, SeriesSamples? coupled = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        options ??= new AnomalyOptions();
        options.Validate();
        var (t, v, nonFinite) = Finite(series.Samples);
        var anomalies = new List<Anomaly>();
        var interval = Interval(t);
        if (t.Length > 0)
        {
            Dropouts(series.Labels, t, interval, options, windowEnd, anomalies);
        }

        if (options.IsCounter ?? series.Labels.MetricName.EndsWith("_total", StringComparison.Ordinal))
        {
            CounterResets(series.Labels, t, v, anomalies);
        }
        else
        {
            var quantum = RobustStatistics.Quantum(v);
            if (options.ScanLevels)
            {
                Outliers(series.Labels, t, v, quantum, options, anomalies);
                ChangePoints(series.Labels, t, v, quantum, options, anomalies);
            }

            Stuck(series.Labels, t, v, quantum, options, coupled, anomalies);
        }

        anomalies.Sort((a, b) => a.Onset != b.Onset ? a.Onset.CompareTo(b.Onset) : a.Kind.CompareTo(b.Kind));
        return new SeriesScan(series.Labels, t.Length, nonFinite, TimeSpan.FromMilliseconds(interval), t.Length > 0 ? At(t[0]) : null, anomalies);
    }

    internal static (long[] Times, double[] Values, int NonFinite) Finite(IReadOnlyList<Sample> samples)
    {
        var times = new List<long>(samples.Count);
        var values = new List<double>(samples.Count);
        var nonFinite = 0;
        foreach (var s in samples)
        {
            if (double.IsFinite(s.Value))
            {
                times.Add(s.TimestampMs);
                values.Add(s.Value);
            }
            else
            {
                nonFinite++;
            }
        }

        return ([.. times], [.. values], nonFinite);
    }

    /// <summary>The median spacing of the samples in milliseconds (0 with fewer than 2).</summary>
    internal static long Interval(long[] t)
    {
        if (t.Length < 2)
        {
            return 0;
        }

        var d = new long[t.Length - 1];
        for (var i = 1; i < t.Length; i++)
        {
            d[i - 1] = t[i] - t[i - 1];
        }

        Array.Sort(d);
        return d[d.Length / 2];
    }

    private static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static string F(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    private static void Dropouts(Labels labels, long[] t, long interval, AnomalyOptions o, DateTimeOffset? windowEnd, List<Anomaly> found)
    {
        if (interval <= 0)
        {
            return;
        }

        var limit = o.DropoutIntervals * interval;
        for (var i = 1; i < t.Length; i++)
        {
            var gap = t[i] - t[i - 1];
            if (gap > limit)
            {
                found.Add(new Anomaly(labels, AnomalyKind.Dropout, At(t[i - 1] + interval), At(t[i - 1] + (long)limit), (double)gap / interval,
                    $"no sample for {F(gap / 1000.0)} s ({F((double)gap / interval)} x its {F(interval / 1000.0)} s interval), until {At(t[i]):O}"));
            }
        }

        if (windowEnd is { } end && end.ToUnixTimeMilliseconds() - t[^1] > limit)
        {
            var gap = end.ToUnixTimeMilliseconds() - t[^1];
            found.Add(new Anomaly(labels, AnomalyKind.Dropout, At(t[^1] + interval), At(t[^1] + (long)limit), (double)gap / interval,
                $"no sample since {At(t[^1]):O} ({F(gap / 1000.0)} s to the end of the window, {F((double)gap / interval)} x its interval)"));
        }
    }

    private static void CounterResets(Labels labels, long[] t, double[] v, List<Anomaly> found)
    {
        for (var i = 1; i < v.Length; i++)
        {
            if (v[i] < v[i - 1])
            {
                found.Add(new Anomaly(labels, AnomalyKind.CounterReset, At(t[i]), At(t[i]), v[i - 1] - v[i],
                    $"counter fell from {F(v[i - 1])} to {F(v[i])}: the meter or its exporter restarted"));
            }
        }
    }

    private static void Outliers(Labels labels, long[] t, double[] v, double quantum, AnomalyOptions o, List<Anomaly> found)
    {
        var w = o.BaselineWindow;
        var scratch = new double[Math.Max(w, 16)];
        var seasonal = new List<double>();
        var floor = Math.Max(quantum, 1e-12);
        var seasonalFrom = t.Length > 0 ? t[0] + (long)o.SeasonalAfter.TotalMilliseconds : long.MaxValue;
        var day = (long)TimeSpan.FromDays(1).TotalMilliseconds;
        var half = (long)o.SeasonalHalfWidth.TotalMilliseconds;
        int? runStart = null;
        var runScore = 0.0;
        var runBaseline = 0.0;
        var runKind = "";
        for (var i = w; i <= t.Length; i++)
        {
            var over = false;
            double z = 0, median = 0;
            var kind = "rolling";
            if (i < t.Length)
            {
                if (t[i] >= seasonalFrom && SameTimeOfDay(t, v, i, day, half, seasonal) >= w / 2)
                {
                    if (scratch.Length < seasonal.Count)
                    {
                        scratch = new double[seasonal.Count * 2];
                    }

                    (median, var sigma) = RobustStatistics.Baseline(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(seasonal), scratch, floor);
                    z = (v[i] - median) / sigma;
                    kind = "same time of day on earlier days";
                }
                else
                {
                    (median, var sigma) = RobustStatistics.Baseline(v.AsSpan(i - w, w), scratch, floor);
                    z = (v[i] - median) / sigma;
                }

                over = Math.Abs(z) >= o.OutlierThreshold;
            }

            if (over)
            {
                if (runStart is null)
                {
                    runStart = i;
                    runScore = 0;
                    runBaseline = median;
                    runKind = kind;
                }

                runScore = Math.Max(runScore, Math.Abs(z));
            }
            else if (runStart is { } s)
            {
                found.Add(new Anomaly(labels, AnomalyKind.Outlier, At(t[s]), At(t[s]), runScore,
                    $"{F(v[s])} against a median of {F(runBaseline)} ({runKind}); robust z up to {F(runScore)} over {i - s} samples"));
                runStart = null;
            }
        }
    }

    /// <summary>Collects the values within <paramref name="half"/> of sample i's time of day on every earlier day.</summary>
    private static int SameTimeOfDay(long[] t, double[] v, int i, long day, long half, List<double> into)
    {
        into.Clear();
        for (var back = t[i] - day; back >= t[0] - half; back -= day)
        {
            var from = Array.BinarySearch(t, 0, i, back - half);
            from = from < 0 ? ~from : from;
            for (var j = from; j < i && t[j] <= back + half; j++)
            {
                into.Add(v[j]);
            }
        }

        return into.Count;
    }

    private static void ChangePoints(Labels labels, long[] t, double[] v, double quantum, AnomalyOptions o, List<Anomaly> found)
    {
        var w = o.CusumReference;
        var scratch = new double[w];
        var floor = Math.Max(quantum, 1e-12);
        var start = 0;
        while (start + w < v.Length)
        {
            // The reference is the first window after the start (or after the last alarm): a new level becomes the
            // new normal once it has been reported, as the operator has been told.
            var (median, sigma) = RobustStatistics.Baseline(v.AsSpan(start, w), scratch, floor);
            double up = 0, down = 0;
            int lastZeroUp = start + w - 1, lastZeroDown = start + w - 1;
            var alarmed = false;
            for (var j = start + w; j < v.Length; j++)
            {
                // Clipped (Huber's psi) so one wild sample is an outlier, not a change of level.
                var z = Math.Clamp((v[j] - median) / sigma, -o.CusumClip, o.CusumClip);
                up = Math.Max(0, up + z - o.CusumAllowance);
                down = Math.Max(0, down - z - o.CusumAllowance);
                if (up == 0)
                {
                    lastZeroUp = j;
                }

                if (down == 0)
                {
                    lastZeroDown = j;
                }

                if (up > o.CusumThreshold || down > o.CusumThreshold)
                {
                    // Page's estimate of the onset: the sample after the statistic last left zero.
                    var rising = up > o.CusumThreshold;
                    var onset = (rising ? lastZeroUp : lastZeroDown) + 1;
                    var mean = 0.0;
                    for (var k = onset; k <= j; k++)
                    {
                        mean += v[k];
                    }

                    mean /= j - onset + 1;
                    found.Add(new Anomaly(labels, AnomalyKind.ChangePoint, At(t[onset]), At(t[j]), (rising ? up : down) / o.CusumThreshold,
                        $"level {(rising ? "rose" : "fell")} from {F(median)} to about {F(mean)} ({F((mean - median) / sigma)} robust sigma) from {At(t[onset]):O}"));
                    start = j + 1;
                    alarmed = true;
                    break;
                }
            }

            if (!alarmed)
            {
                return;
            }
        }
    }

    private static void Stuck(Labels labels, long[] t, double[] v, double quantum, AnomalyOptions o, SeriesSamples? coupled, List<Anomaly> found)
    {
        var tolerance = quantum > 0 ? quantum / 2 : 0;
        var (ct, cv, _) = coupled is null ? ([], [], 0) : Finite(coupled.Samples);
        var runStart = 0;
        for (var i = 1; i <= v.Length; i++)
        {
            if (i < v.Length && Math.Abs(v[i] - v[runStart]) <= tolerance)
            {
                continue;
            }

            var length = i - runStart;
            if (length < Math.Min(o.StuckMinSamples, o.StuckSamples))
            {
                // Too short to be stuck by any rule: most runs of a live series are one reading, and reading the hour
                // before each one for its repeat rate made the scan quadratic in the window.
                runStart = i;
                continue;
            }

            // Judged before StuckSamples only with a coupled series to vouch that the process moved through the run:
            // the series' own repeat rate alone is one line of evidence, and across a fleet's sensors its rare runs
            // happen (alone, on the faults week's 160 rack inlets, 3 false runs of 9 in a week at 1e-7). A run not
            // judged early is judged again at StuckSamples by the history rule.
            var early = ct.Length > 0 ? StuckRunNeeded(v, runStart, tolerance, o) : o.StuckSamples;
            var candidates = early < o.StuckSamples ? new[] { early, o.StuckSamples } : [o.StuckSamples];
            foreach (var n in candidates)
            {
                if (length < n)
                {
                    break;
                }

                var judged = runStart + n - 1;
                var history = n == o.StuckSamples ? MovingShare(v, Math.Max(0, runStart - (2 * o.StuckSamples)), runStart, tolerance) : null;
                var coupledMoves = ct.Length > 0 && CoupledMoves(ct, cv, t[runStart], t[judged]);
                if ((history is { } share && share >= o.StuckMovingShare) || coupledMoves)
                {
                    var why = coupledMoves
                        ? $"{coupled!.Labels} kept moving meanwhile"
                        : $"before it, {F(100 * history!.Value)} % of its samples changed";
                    found.Add(new Anomaly(labels, AnomalyKind.Stuck, At(t[runStart]), At(t[judged]), (double)length / n,
                        $"held at {F(v[runStart])} for {length} samples ({F((t[i - 1] - t[runStart]) / 1000.0)} s, {n} needed); {why}")
                    { Until = At(t[i - 1]) });
                    break;
                }
            }

            runStart = i;
        }
    }

    /// <summary>The identical readings in a row that make a run starting at <paramref name="runStart"/> stuck: the
    /// fewest n whose chance under the series' own repeat rate before the run, (repeats + 1) / (pairs + 2), to the
    /// power n - 1 is below <see cref="AnomalyOptions.StuckFalseAlarmOdds"/>, within [StuckMinSamples, StuckSamples];
    /// StuckSamples with fewer than 30 readings before the run.</summary>
    internal static int StuckRunNeeded(double[] v, int runStart, double tolerance, AnomalyOptions o)
    {
        var from = Math.Max(0, runStart - o.StuckHistorySamples);
        var pairs = runStart - from - 1;
        if (pairs < 29)
        {
            return o.StuckSamples;
        }

        var repeats = 0;
        for (var i = from + 1; i < runStart; i++)
        {
            if (Math.Abs(v[i] - v[i - 1]) <= tolerance)
            {
                repeats++;
            }
        }

        var rate = (repeats + 1.0) / (pairs + 2.0);
        var needed = 1 + (int)Math.Ceiling(Math.Log(o.StuckFalseAlarmOdds) / Math.Log(rate));
        return Math.Clamp(needed, Math.Min(o.StuckMinSamples, o.StuckSamples), o.StuckSamples);
    }

    /// <summary>The share of consecutive samples in [from, to) that changed beyond the tolerance; null with fewer than 3.</summary>
    private static double? MovingShare(double[] v, int from, int to, double tolerance)
    {
        if (to - from < 3)
        {
            return null;
        }

        var changed = 0;
        for (var i = from + 1; i < to; i++)
        {
            if (Math.Abs(v[i] - v[i - 1]) > tolerance)
            {
                changed++;
            }
        }

        return (double)changed / (to - from - 1);
    }

    private static bool CoupledMoves(long[] t, double[] v, long from, long to)
    {
        var lo = Array.BinarySearch(t, from);
        lo = lo < 0 ? ~lo : lo;
        var hi = lo;
        while (hi < t.Length && t[hi] <= to)
        {
            hi++;
        }

        var quantum = RobustStatistics.Quantum(v);
        return hi - lo >= 3 && MovingShare(v, lo, hi, quantum > 0 ? quantum / 2 : 0) >= 0.5;
    }
}
