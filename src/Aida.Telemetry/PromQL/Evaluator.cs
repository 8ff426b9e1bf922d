using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.PromQL;

/// <summary>Evaluates a checked expression at single timestamps. Selectors read their data once for the whole query window
/// and slice it per step, except an instant selector read at one instant only, which takes each series' newest sample
/// from a store that can give it; subquery steps are cached, as their grid is absolute (multiples of the step).</summary>
internal sealed class Evaluator : IDisposable
{
    private readonly ISeriesSource _source;
    private readonly EngineOptions _options;
    private readonly CancellationToken _ct;
    private readonly Dictionary<VectorSelector, (long Min, long Max)> _windows = [];
    private readonly Dictionary<VectorSelector, SelectedData> _data = [];
    private readonly List<Sample[]> _rented = [];
    private readonly Dictionary<(SubqueryExpr, long), List<VectorSample>> _subqueryCache = [];
    private readonly long _queryStart;
    private readonly long _queryEnd;
    private long _stepSamples;

    public Evaluator(ISeriesSource source, EngineOptions options, Expr root, long startMs, long endMs, CancellationToken ct)
        : this(source, options, root, startMs, endMs, startMs, endMs, 0, ct)
    {
    }

    /// <summary>An evaluator for the steps from <paramref name="fromMs"/> to <paramref name="toMs"/>, every
    /// <paramref name="stepMs"/> (0: no step grid, an instant query), of a query over [<paramref name="startMs"/>,
    /// <paramref name="endMs"/>] (which <c>@ start()</c> and <c>@ end()</c> refer to): it selects only the data those
    /// steps read.</summary>
    public Evaluator(ISeriesSource source, EngineOptions options, Expr root, long startMs, long endMs, long fromMs, long toMs, long stepMs, CancellationToken ct)
    {
        _source = source;
        _options = options;
        _ct = ct;
        _queryStart = startMs;
        _queryEnd = endMs;
        _gridFrom = fromMs;
        _gridTo = toMs;
        _gridStep = stepMs;
        Plan(root, fromMs, toMs);
    }

    private readonly long _gridFrom;
    private readonly long _gridTo;
    private readonly long _gridStep;
    private readonly Dictionary<CallExpr, StepBlock> _stepBlocks = [];
    private readonly Dictionary<AggregateExpr, Dictionary<Labels, Labels>> _groupKeys = [];

    /// <summary>The group keys of <paramref name="a"/> computed so far in this query, by the input sample's labels (the
    /// same instance at every step for a series selected once): a range query over 5,760 GPUs' series at 720 steps
    /// computed each key 720 times.</summary>
    public Dictionary<Labels, Labels> GroupKeyCache(AggregateExpr a)
    {
        if (!_groupKeys.TryGetValue(a, out var keys))
        {
            keys = new Dictionary<Labels, Labels>(ReferenceEqualityComparer.Instance);
            _groupKeys[a] = keys;
        }

        return keys;
    }

    public void ThrowIfCancelled() => _ct.ThrowIfCancellationRequested();

    /// <summary>Where the data comes from (for paths that select on their own, such as step blocks).</summary>
    public ISeriesSource Source => _source;

    /// <summary>The step of the range query this evaluator runs (0 for an instant query).</summary>
    public long GridStep => _gridStep;

    /// <summary>Whether <paramref name="ts"/> is one of the steps this evaluator runs (not, say, a subquery's own step).</summary>
    public bool OnStepGrid(long ts) => _gridStep > 0 && ts >= _gridFrom && ts <= _gridTo && (ts - _gridFrom) % _gridStep == 0;

    /// <summary>How many steps from <paramref name="ts"/> (on the grid) to the last one, inclusive.</summary>
    public int StepsFrom(long ts) => (int)Math.Min(int.MaxValue, ((_gridTo - ts) / _gridStep) + 1);

    /// <summary>The block of precomputed steps of a range function call that holds <paramref name="ts"/>, if one was built.</summary>
    public StepBlock? CachedStepBlock(CallExpr call, long ts) =>
        _stepBlocks.TryGetValue(call, out var block) && block.Holds(ts, _gridStep) ? block : null;

    public void CacheStepBlock(CallExpr call, StepBlock block)
    {
        if (_stepBlocks.TryGetValue(call, out var previous))
        {
            previous.Release();
        }

        _stepBlocks[call] = block;
    }

    /// <summary>A range function's results for a run of consecutive steps, computed series by series (each series' samples
    /// read in one sequential pass instead of one window per step across all series, which is bound by memory latency).
    /// Layout: tiles of <see cref="TileRows"/> series, step-major inside a tile (<see cref="Cell"/>): a series writes its
    /// steps to consecutive cache lines, and a step's column reads one line per tile. The arrays are pooled: the
    /// evaluator gives them back when it replaces the block or is disposed.</summary>
    internal sealed class StepBlock
    {
        /// <summary>Series per tile: eight doubles fill one 64-byte cache line.</summary>
        public const int TileRows = 8;

        public StepBlock(long firstTs, int steps, int series)
        {
            FirstTs = firstTs;
            Steps = steps;
            Capacity = series;
            Labels = new Labels[series];
            NoName = new Labels[series];
            var cells = (long)((series + TileRows - 1) / TileRows) * TileRows * steps;
            Values = System.Buffers.ArrayPool<double>.Shared.Rent((int)Math.Max(1, cells));
            Present = System.Buffers.ArrayPool<bool>.Shared.Rent((int)Math.Max(1, cells));
            Present.AsSpan(0, (int)cells).Clear();
            StepSamples = new long[steps];
            PresentCount = new int[steps];
        }

        public long FirstTs { get; }

        public int Steps { get; }

        /// <summary>The most series the block can hold.</summary>
        public int Capacity { get; }

        /// <summary>How many series rows are filled (at most <see cref="Capacity"/>).</summary>
        public int Series { get; set; }

        /// <summary>Each row's labels, and the same without the metric name.</summary>
        public Labels[] Labels { get; }

        public Labels[] NoName { get; }

        /// <summary>Results, at <see cref="Cell"/>; meaningful where <see cref="Present"/> is set.</summary>
        public double[] Values { get; }

        public bool[] Present { get; }

        /// <summary>Per step, the samples its windows held (what <see cref="CountSamples"/> is charged with).</summary>
        public long[] StepSamples { get; }

        /// <summary>Per step, how many series have a result.</summary>
        public int[] PresentCount { get; }

        public bool Unique { get; set; }

        public bool UniqueWithoutName { get; set; }

        /// <summary>Per aggregation reading this block's columns, each row's grouping labels (computed once per block,
        /// not once per step).</summary>
        public Dictionary<AggregateExpr, Labels[]> GroupKeys { get; } = [];

        /// <summary>Per <c>sum</c> without grouping over this block, every step's sum and whether any row had a result.</summary>
        public Dictionary<AggregateExpr, (double[] Values, bool[] Any)> Sums { get; } = [];

        /// <summary>Where series <paramref name="row"/>'s result for step <paramref name="k"/> lives.</summary>
        public int Cell(int row, int k) => ((((row / TileRows) * Steps) + k) * TileRows) + (row % TileRows);

        public bool Holds(long ts, long step) => ts >= FirstTs && (ts - FirstTs) / step < Steps;

        /// <summary>The index of step <paramref name="ts"/> in the block.</summary>
        public int StepOf(long ts, long step) => (int)((ts - FirstTs) / step);

        /// <summary>Gives the arrays back to the pool; the block must not be read afterwards.</summary>
        public void Release()
        {
            System.Buffers.ArrayPool<double>.Shared.Return(Values);
            System.Buffers.ArrayPool<bool>.Shared.Return(Present);
        }
    }

    /// <summary>The time a selector or subquery is evaluated at: the step's, unless an @ modifier pins it.</summary>
    public long TimeOf(AtModifier at, long ts) => at.Resolve(ts, _queryStart, _queryEnd);

    /// <summary>One selected series: all samples (for instant selection) and, built on first use, the samples without
    /// staleness markers (for range selection), plus a cursor so successive windows slide instead of searching.</summary>
    internal sealed class SelectedSeries(Labels labels, Sample[] all, int count)
    {
        public Labels Labels { get; } = labels;

        /// <summary>Every selected sample, staleness markers included, oldest first: the first <see cref="Count"/> slots.</summary>
        public Sample[] All { get; } = all;

        /// <summary>How many samples <see cref="All"/> holds.</summary>
        public int Count { get; } = count;

        private Labels? _noName;

        /// <summary>The labels without the metric name, computed once.</summary>
        public Labels NoName => _noName ??= LabelOps.DropName(Labels);

        private Sample[]? _live;

        private int _liveCount;

        /// <summary>The samples that are not staleness markers, oldest first, in the first <see cref="LiveCount"/> slots
        /// (<see cref="All"/> itself when there are none).</summary>
        public Sample[] Live
        {
            get
            {
                if (_live is null)
                {
                    var all = All;
                    var n = 0;
                    for (var i = 0; i < Count; i++)
                    {
                        if (!StaleMarker.Is(all[i].Value))
                        {
                            n++;
                        }
                    }

                    if (n == Count)
                    {
                        _live = all;
                    }
                    else
                    {
                        var live = new Sample[n];
                        var j = 0;
                        for (var i = 0; i < Count; i++)
                        {
                            if (!StaleMarker.Is(all[i].Value))
                            {
                                live[j++] = all[i];
                            }
                        }

                        _live = live;
                    }

                    _liveCount = n;
                }

                return _live;
            }
        }

        private int[]? _resets;

        /// <summary>Indices i of <see cref="Live"/> where the value drops below its predecessor's (a counter reset),
        /// ascending; usually none.</summary>
        public int[] Resets
        {
            get
            {
                if (_resets is null)
                {
                    var live = Live;
                    List<int>? found = null;
                    for (var i = 1; i < _liveCount; i++)
                    {
                        if (live[i].Value < live[i - 1].Value)
                        {
                            (found ??= []).Add(i);
                        }
                    }

                    _resets = found is null ? [] : [.. found];
                }

                return _resets;
            }
        }

        /// <summary>Whether a counter reset lies inside the window of <paramref name="length"/> samples from
        /// <paramref name="start"/> (between two of its samples).</summary>
        public bool ResetWithin(int start, int length)
        {
            var resets = Resets;
            if (resets.Length == 0)
            {
                return false;
            }

            var i = Array.BinarySearch(resets, start + 1);
            if (i < 0)
            {
                i = ~i;
            }

            return i < resets.Length && resets[i] < start + length;
        }

        /// <summary>How many samples <see cref="Live"/> holds.</summary>
        public int LiveCount
        {
            get
            {
                _ = Live;
                return _liveCount;
            }
        }

        // Window cursor over Live: first index with time >= mint, first index with time > maxt.
        private int _lo;
        private int _hi;

        /// <summary>The index range of <see cref="Live"/> inside [mint, maxt]; slides from the previous window when it can.</summary>
        public (int Start, int Length) Window(long mint, long maxt) => SlideWindow(new ReadOnlySpan<Sample>(Live, 0, LiveCount), ref _lo, ref _hi, mint, maxt);
    }

    /// <summary>The index range of <paramref name="live"/> (oldest first) inside [mint, maxt], moving the cursor
    /// (<paramref name="lo"/>: first index at or after mint, <paramref name="hi"/>: first index after maxt) from the previous
    /// window: forward by stepping, backward by binary search.</summary>
    public static (int Start, int Length) SlideWindow(ReadOnlySpan<Sample> live, ref int lo, ref int hi, long mint, long maxt)
    {
        var n = live.Length;
        if (lo > 0 && live[lo - 1].TimestampMs >= mint)
        {
            lo = FirstAtOrAfter(live, mint);
        }
        else
        {
            while (lo < n && live[lo].TimestampMs < mint)
            {
                lo++;
            }
        }

        if (hi > 0 && live[hi - 1].TimestampMs > maxt)
        {
            hi = FirstAtOrAfter(live, maxt + 1);
        }
        else
        {
            while (hi < n && live[hi].TimestampMs <= maxt)
            {
                hi++;
            }
        }

        return (lo, Math.Max(0, hi - lo));
    }

    private static int FirstAtOrAfter(ReadOnlySpan<Sample> a, long t)
    {
        int lo = 0, hi = a.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (a[mid].TimestampMs < t)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>A selector's series, and whether their label sets stay distinct with and without the metric name (so
    /// results built from them need no uniqueness check).</summary>
    internal sealed class SelectedData(List<SelectedSeries> series)
    {
        public List<SelectedSeries> Series { get; } = series;

        private bool? _uniqueNoName;

        public bool UniqueWithoutName => _uniqueNoName ??= AllDistinct(Series, noName: true);

        private bool? _unique;

        public bool Unique => _unique ??= AllDistinct(Series, noName: false);

        private static bool AllDistinct(List<SelectedSeries> series, bool noName)
        {
            var seen = new HashSet<Labels>();
            foreach (var s in series)
            {
                if (!seen.Add(noName ? s.NoName : s.Labels))
                {
                    return false;
                }
            }

            return true;
        }
    }

    private (int Start, int Length)[] _windowBuffer = [];

    /// <summary>A scratch array for one step's per-series windows, reused across steps.</summary>
    public (int Start, int Length)[] WindowBuffer(int n)
    {
        if (_windowBuffer.Length < n)
        {
            _windowBuffer = new (int, int)[n];
        }

        return _windowBuffer;
    }

    public long LookbackMs => (long)_options.LookbackDelta.TotalMilliseconds;

    /// <summary>Evaluates at one timestamp: a <see cref="ScalarValue"/>, <see cref="StringValue"/>, vector (list of
    /// <see cref="VectorSample"/>) or matrix (list of <see cref="RangeSeries"/>).</summary>
    public object EvalTop(Expr e, long ts)
    {
        StartStep();
        return Eval(e, ts);
    }

    /// <summary>Starts counting a new step's samples against <see cref="EngineOptions.MaxSamples"/>.</summary>
    public void StartStep() => _stepSamples = 0;

    public object Eval(Expr e, long ts)
    {
        _ct.ThrowIfCancellationRequested();
        return e switch
        {
            NumberLiteral n => new ScalarValue(n.Value),
            StringLiteral s => new StringValue(s.Value),
            ParenExpr p => Eval(p.Inner, ts),
            NegateExpr n => Negate(Eval(n.Inner, ts)),
            VectorSelector vs => SelectInstant(vs, ts, null),
            MatrixSelector ms => SelectRange(ms.Selector, ts, ms.RangeMs),
            SubqueryExpr sq => EvalSubquery(sq, ts),
            CallExpr c => Functions.Call(this, c, ts),
            AggregateExpr a => Aggregations.Aggregate(this, a, ts),
            BinaryExpr b => BinaryOps.Eval(this, b, ts),
            _ => throw new QueryException("unknown expression", e.Pos, "execution"),
        };
    }

    public List<VectorSample> EvalVector(Expr e, long ts) => (List<VectorSample>)Eval(e, ts);

    public List<RangeSeries> EvalMatrix(Expr e, long ts) => (List<RangeSeries>)Eval(e, ts);

    public double EvalScalar(Expr e, long ts) => ((ScalarValue)Eval(e, ts)).Value;

    public string EvalString(Expr e, long ts) => ((StringValue)Eval(e, ts)).Value;

    private object Negate(object v)
    {
        if (v is ScalarValue s)
        {
            return new ScalarValue(-s.Value);
        }

        var vec = (List<VectorSample>)v;
        var result = new List<VectorSample>(vec.Count);
        foreach (var x in vec)
        {
            result.Add(new VectorSample(LabelOps.DropName(x.Metric), -x.Value));
        }

        return CheckUnique(result);
    }

    /// <summary>Prometheus refuses a vector in which two elements have the same label set (after a function or operator
    /// dropped the metric name).</summary>
    public static List<VectorSample> CheckUnique(List<VectorSample> v)
    {
        if (v.Count < 2)
        {
            return v;
        }

        var seen = new HashSet<Labels>();
        foreach (var s in v)
        {
            if (!seen.Add(s.Metric))
            {
                throw new QueryException("vector cannot contain metrics with the same labelset", -1, "execution");
            }
        }

        return v;
    }

    public void CountSamples(long n)
    {
        _stepSamples += n;
        if (_stepSamples > _options.MaxSamples)
        {
            throw new QueryException("query processing would load too many samples into memory in query execution", -1, "execution");
        }
    }

    private void Plan(Expr e, long start, long end)
    {
        switch (e)
        {
            case VectorSelector vs:
                (start, end) = vs.At.IsSet ? (TimeOf(vs.At, 0), TimeOf(vs.At, 0)) : (start, end);
                Widen(vs, start - vs.OffsetMs - LookbackMs, end - vs.OffsetMs);
                break;
            case MatrixSelector ms:
                (start, end) = ms.Selector.At.IsSet ? (TimeOf(ms.Selector.At, 0), TimeOf(ms.Selector.At, 0)) : (start, end);
                Widen(ms.Selector, start - ms.Selector.OffsetMs - ms.RangeMs, end - ms.Selector.OffsetMs);
                break;
            case SubqueryExpr sq:
                (start, end) = sq.At.IsSet ? (TimeOf(sq.At, 0), TimeOf(sq.At, 0)) : (start, end);
                Plan(sq.Inner, start - sq.OffsetMs - sq.RangeMs, end - sq.OffsetMs);
                break;
            case ParenExpr p:
                Plan(p.Inner, start, end);
                break;
            case NegateExpr n:
                Plan(n.Inner, start, end);
                break;
            case CallExpr c:
                foreach (var a in c.Args)
                {
                    Plan(a, start, end);
                }

                break;
            case AggregateExpr a:
                Plan(a.Inner, start, end);
                if (a.Param is not null)
                {
                    Plan(a.Param, start, end);
                }

                break;
            case BinaryExpr b:
                Plan(b.Lhs, start, end);
                Plan(b.Rhs, start, end);
                break;
            default:
                break;
        }
    }

    private void Widen(VectorSelector vs, long min, long max)
    {
        if (_windows.TryGetValue(vs, out var w))
        {
            _windows[vs] = (Math.Min(w.Min, min), Math.Max(w.Max, max));
        }
        else
        {
            _windows[vs] = (min, max);
        }
    }

    internal SelectedData Data(VectorSelector vs)
    {
        if (_data.TryGetValue(vs, out var data))
        {
            return data;
        }

        var (min, max) = _windows[vs];
        var d = new List<SelectedSeries>();
        if (_source is IPooledSeriesSource pooled)
        {
            foreach (var s in pooled.SelectPooled(min, max, vs.Matchers, SampleBufferPool.Shared))
            {
                _rented.Add(s.Buffer);
                d.Add(new SelectedSeries(s.Labels, s.Buffer, s.Count));
            }

            _ct.ThrowIfCancellationRequested();
        }
        else
        {
            foreach (var s in _source.Select(min, max, vs.Matchers))
            {
                _ct.ThrowIfCancellationRequested();
                var all = s.Samples as Sample[] ?? [.. s.Samples];
                d.Add(new SelectedSeries(s.Labels, all, all.Length));
            }
        }

        data = new SelectedData(d);
        _data[vs] = data;
        return data;
    }

    /// <summary>Index of the last of the first <paramref name="count"/> samples at or before <paramref name="t"/>, or -1.</summary>
    private static int LastAtOrBefore(Sample[] samples, int count, long t)
    {
        int lo = 0, hi = count - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (samples[mid].TimestampMs <= t)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found;
    }

    /// <summary>The newest sample of each series within the lookback delta before ts - offset; a staleness marker as newest
    /// sample hides the series. <paramref name="times"/>, when given, receives the samples' own timestamps.</summary>
    public List<VectorSample> SelectInstant(VectorSelector vs, long ts, List<long>? times)
    {
        var refTime = TimeOf(vs.At, ts) - vs.OffsetMs;
        if (_source is ILatestSampleSource latest && _windows[vs] == (refTime - LookbackMs, refTime))
        {
            return SelectLatest(latest, vs, refTime, times);
        }

        // Sized for every series at once: grown by doubling, a step over 5,760 GPUs' series copied the vector 13 times.
        var data = Data(vs).Series;
        var result = new List<VectorSample>(data.Count);
        foreach (var s in data)
        {
            var all = s.All;
            var i = LastAtOrBefore(all, s.Count, refTime);
            if (i < 0 || all[i].TimestampMs < refTime - LookbackMs || StaleMarker.Is(all[i].Value))
            {
                continue;
            }

            result.Add(new VectorSample(s.Labels, all[i].Value));
            times?.Add(all[i].TimestampMs);
        }

        CountSamples(result.Count);
        return result;
    }

    /// <summary><see cref="SelectInstant"/> for a selector read at this one instant only (the window planned for it is
    /// this instant's lookback, as in an instant query): the store hands over each series' newest sample alone instead of
    /// every sample of the lookback.</summary>
    private List<VectorSample> SelectLatest(ILatestSampleSource latest, VectorSelector vs, long refTime, List<long>? times)
    {
        var selected = latest.SelectLatest(refTime - LookbackMs, refTime, vs.Matchers);
        _ct.ThrowIfCancellationRequested();
        var result = new List<VectorSample>(selected.Count);
        foreach (var (labels, newest) in selected)
        {
            if (StaleMarker.Is(newest.Value))
            {
                continue;
            }

            result.Add(new VectorSample(labels, newest.Value));
            times?.Add(newest.TimestampMs);
        }

        CountSamples(result.Count);
        return result;
    }

    /// <summary>The window [ts - offset - range, ts - offset] of a matrix selector at one step.</summary>
    public (long Mint, long Maxt) RangeWindow(VectorSelector vs, long ts, long rangeMs)
    {
        var maxt = TimeOf(vs.At, ts) - vs.OffsetMs;
        return (maxt - rangeMs, maxt);
    }

    /// <summary>Samples in [ts - offset - range, ts - offset] per series, staleness markers left out; series with none are dropped.
    /// The points are views on the selected data, not copies.</summary>
    public List<RangeSeries> SelectRange(VectorSelector vs, long ts, long rangeMs)
    {
        var (mint, maxt) = RangeWindow(vs, ts, rangeMs);
        var result = new List<RangeSeries>();
        foreach (var s in Data(vs).Series)
        {
            var (start, length) = s.Window(mint, maxt);
            if (length > 0)
            {
                CountSamples(length);
                result.Add(new RangeSeries(s.Labels, s.Live, start, length));
            }
        }

        return result;
    }

    private List<RangeSeries> EvalSubquery(SubqueryExpr sq, long ts)
    {
        var step = sq.StepMs > 0 ? sq.StepMs : (long)_options.DefaultSubqueryStep.TotalMilliseconds;
        var end = TimeOf(sq.At, ts) - sq.OffsetMs;
        var start = end - sq.RangeMs;

        // Prometheus aligns subquery steps to absolute multiples of the step, not to the outer evaluation time.
        var t = step * (start / step);
        if (t < start)
        {
            t += step;
        }

        var bySeries = new Dictionary<Labels, List<Sample>>();
        var order = new List<(Labels Metric, List<Sample> Points)>();
        var saved = _stepSamples;
        for (; t <= end; t += step)
        {
            if (!_subqueryCache.TryGetValue((sq, t), out var vec))
            {
                _stepSamples = 0;
                vec = EvalVector(sq.Inner, t);
                _subqueryCache[(sq, t)] = vec;
            }

            foreach (var s in vec)
            {
                if (!bySeries.TryGetValue(s.Metric, out var points))
                {
                    points = [];
                    bySeries[s.Metric] = points;
                    order.Add((s.Metric, points));
                }

                points.Add(new Sample(t, s.Value));
            }
        }

        _stepSamples = saved;
        var total = 0L;
        var result = new List<RangeSeries>(order.Count);
        foreach (var (metric, points) in order)
        {
            total += points.Count;
            result.Add(new RangeSeries(metric, [.. points], 0, points.Count));
        }

        CountSamples(total);
        return result;
    }

    /// <summary>Gives the selected samples' arrays back to the pool: nothing read from this evaluator's selections may be
    /// used afterwards.</summary>
    public void Dispose()
    {
        _data.Clear();
        foreach (var block in _stepBlocks.Values)
        {
            block.Release();
        }

        _stepBlocks.Clear();
        foreach (var buffer in _rented)
        {
            SampleBufferPool.Shared.Return(buffer);
        }

        _rented.Clear();
    }
}
