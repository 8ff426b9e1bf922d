using System.Runtime.Intrinsics;
using System.Text;
using System.Text.RegularExpressions;
using Aida.Telemetry.Query;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.PromQL;

/// <summary>A PromQL function's signature. <paramref name="Variadic"/>: 0 fixed arity, n &gt; 0 up to n optional trailing
/// arguments, -1 the last argument repeats without limit (as Prometheus' parser.Function).</summary>
internal sealed record FunctionDef(string Name, IReadOnlyList<PromType> ArgTypes, int Variadic, PromType ReturnType);

/// <summary>The function table and implementations, following Prometheus 2.42's promql/functions.go.</summary>
internal static class Functions
{
    private static readonly Dictionary<string, FunctionDef> Table = Build();

    public static bool TryGet(string name, out FunctionDef def) => Table.TryGetValue(name, out def!);

    private static Dictionary<string, FunctionDef> Build()
    {
        const PromType S = PromType.Scalar;
        const PromType V = PromType.Vector;
        const PromType M = PromType.Matrix;
        const PromType Str = PromType.String;
        var defs = new List<FunctionDef>();
        void Add(string name, PromType ret, int variadic, params PromType[] args) => defs.Add(new FunctionDef(name, args, variadic, ret));

        foreach (var n in new[] { "rate", "increase", "delta", "irate", "idelta", "deriv", "changes", "resets", "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time", "stddev_over_time", "stdvar_over_time", "present_over_time", "absent_over_time" })
        {
            Add(n, V, 0, M);
        }

        foreach (var n in new[] { "abs", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt", "sgn", "timestamp", "absent", "sort", "sort_desc", "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad" })
        {
            Add(n, V, 0, V);
        }

        foreach (var n in new[] { "day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year" })
        {
            Add(n, V, 1, V);
        }

        Add("quantile_over_time", V, 0, S, M);
        Add("predict_linear", V, 0, M, S);
        Add("holt_winters", V, 0, M, S, S);
        Add("histogram_quantile", V, 0, S, V);
        Add("clamp", V, 0, V, S, S);
        Add("clamp_min", V, 0, V, S);
        Add("clamp_max", V, 0, V, S);
        Add("round", V, 1, V, S);
        Add("time", S, 0);
        Add("pi", S, 0);
        Add("scalar", S, 0, V);
        Add("vector", V, 0, S);
        Add("label_replace", V, 0, V, Str, Str, Str, Str);
        Add("label_join", V, -1, V, Str, Str, Str);
        return defs.ToDictionary(d => d.Name, StringComparer.Ordinal);
    }

    public static object Call(Evaluator ev, CallExpr c, long ts)
    {
        var name = c.Func.Name;
        switch (name)
        {
            case "time":
                return new ScalarValue(ts / 1000.0);
            case "pi":
                return new ScalarValue(Math.PI);
            case "vector":
                return new List<VectorSample> { new(Labels.Empty, ev.EvalScalar(c.Args[0], ts)) };
            case "scalar":
            {
                var v = ev.EvalVector(c.Args[0], ts);
                return new ScalarValue(v.Count == 1 ? v[0].Value : double.NaN);
            }

            case "timestamp":
                return Timestamp(ev, c, ts);
            case "absent":
                return ev.EvalVector(c.Args[0], ts).Count > 0 ? [] : new List<VectorSample> { new(AbsentLabels(c.Args[0]), 1) };
            case "absent_over_time":
                return ev.EvalMatrix(c.Args[0], ts).Count > 0 ? [] : new List<VectorSample> { new(AbsentLabels(c.Args[0]), 1) };
            case "sort":
            {
                var v = new List<VectorSample>(ev.EvalVector(c.Args[0], ts));
                GoSort.Sort(v, Ascending);
                return v;
            }

            case "sort_desc":
            {
                var v = new List<VectorSample>(ev.EvalVector(c.Args[0], ts));
                GoSort.Sort(v, Descending);
                return v;
            }

            case "histogram_quantile":
                return HistogramQuantile(ev.EvalScalar(c.Args[0], ts), ev.EvalVector(c.Args[1], ts));
            case "label_replace":
                return LabelReplace(ev, c, ts);
            case "label_join":
                return LabelJoin(ev, c, ts);
            default:
                break;
        }

        if (c.Func.ArgTypes.Count > 0 && c.Args.Count > 0 && c.Func.ArgTypes.Contains(PromType.Matrix))
        {
            return RangeFunction(ev, c, ts);
        }

        return InstantFunction(ev, c, ts);
    }

    private static List<VectorSample> Timestamp(Evaluator ev, CallExpr c, long ts)
    {
        var arg = c.Args[0];
        while (arg is ParenExpr p)
        {
            arg = p.Inner;
        }

        var result = new List<VectorSample>();

        // On a bare selector the sample's own timestamp is returned; any other expression's samples carry the evaluation time.
        if (arg is VectorSelector vs)
        {
            var times = new List<long>();
            var v = ev.SelectInstant(vs, ts, times);
            for (var i = 0; i < v.Count; i++)
            {
                result.Add(new VectorSample(LabelOps.DropName(v[i].Metric), times[i] / 1000.0));
            }
        }
        else
        {
            foreach (var s in ev.EvalVector(arg, ts))
            {
                result.Add(new VectorSample(LabelOps.DropName(s.Metric), ts / 1000.0));
            }
        }

        return Evaluator.CheckUnique(result);
    }

    /// <summary>Labels for absent()/absent_over_time(): the equality matchers of a bare selector, minus any name matched
    /// more than once or by another matcher type.</summary>
    private static Labels AbsentLabels(Expr arg)
    {
        var vs = arg switch
        {
            VectorSelector v => v,
            MatrixSelector m => m.Selector,
            _ => null,
        };
        if (vs is null)
        {
            return Labels.Empty;
        }

        var set = new Dictionary<string, string>();
        var drop = new List<string>();
        foreach (var m in vs.Matchers)
        {
            if (m.Name == Labels.MetricNameLabel)
            {
                continue;
            }

            if (m.Type == MatcherType.Equal && !set.ContainsKey(m.Name))
            {
                set[m.Name] = m.Value;
            }
            else
            {
                drop.Add(m.Name);
            }
        }

        foreach (var d in drop)
        {
            set.Remove(d);
        }

        return Labels.From(set);
    }

    /// <summary>sort()'s and bottomk's "less", NaN last: Prometheus 2.42 sorts with sort.Reverse(vectorByReverseValueHeap),
    /// whose Less(i, j) is <c>IsNaN(v[i]) || v[i] &gt; v[j]</c>.</summary>
    internal static bool Ascending(VectorSample x, VectorSample y) => double.IsNaN(y.Value) || y.Value > x.Value;

    /// <summary>sort_desc()'s and topk's "less", NaN last: sort.Reverse(vectorByValueHeap), Less(i, j) = <c>IsNaN(v[i]) || v[i] &lt; v[j]</c>.</summary>
    internal static bool Descending(VectorSample x, VectorSample y) => double.IsNaN(y.Value) || y.Value < x.Value;

    private static List<VectorSample> InstantFunction(Evaluator ev, CallExpr c, long ts)
    {
        var name = c.Func.Name;
        List<VectorSample> input;
        if (c.Args.Count == 0)
        {
            // The date functions default to vector(time()).
            input = [new VectorSample(Labels.Empty, ts / 1000.0)];
        }
        else
        {
            input = ev.EvalVector(c.Args[0], ts);
        }

        Func<double, double>? f = name switch
        {
            "abs" => Math.Abs,
            "ceil" => Math.Ceiling,
            "floor" => Math.Floor,
            "exp" => Math.Exp,
            "ln" => Math.Log,
            "log2" => Math.Log2,
            "log10" => Math.Log10,
            "sqrt" => Math.Sqrt,
            "sgn" => x => x > 0 ? 1 : x < 0 ? -1 : x,
            "acos" => Math.Acos,
            "acosh" => Math.Acosh,
            "asin" => Math.Asin,
            "asinh" => Math.Asinh,
            "atan" => Math.Atan,
            "atanh" => Math.Atanh,
            "cos" => Math.Cos,
            "cosh" => Math.Cosh,
            "sin" => Math.Sin,
            "sinh" => Math.Sinh,
            "tan" => Math.Tan,
            "tanh" => Math.Tanh,
            "deg" => x => x * 180 / Math.PI,
            "rad" => x => x * Math.PI / 180,
            "day_of_month" => x => Date(x).Day,
            "day_of_week" => x => (int)Date(x).DayOfWeek,
            "day_of_year" => x => Date(x).DayOfYear,
            "days_in_month" => x => DateTime.DaysInMonth(Date(x).Year, Date(x).Month),
            "hour" => x => Date(x).Hour,
            "minute" => x => Date(x).Minute,
            "month" => x => Date(x).Month,
            "year" => x => Date(x).Year,
            _ => null,
        };

        if (f is null)
        {
            switch (name)
            {
                case "clamp":
                {
                    var min = ev.EvalScalar(c.Args[1], ts);
                    var max = ev.EvalScalar(c.Args[2], ts);
                    if (max < min)
                    {
                        return [];
                    }

                    f = x => Math.Max(min, Math.Min(max, x));
                    break;
                }

                case "clamp_min":
                {
                    var min = ev.EvalScalar(c.Args[1], ts);
                    f = x => Math.Max(min, x);
                    break;
                }

                case "clamp_max":
                {
                    var max = ev.EvalScalar(c.Args[1], ts);
                    f = x => Math.Min(max, x);
                    break;
                }

                case "round":
                {
                    var toNearest = c.Args.Count > 1 ? ev.EvalScalar(c.Args[1], ts) : 1;

                    // Prometheus multiplies by the inverse, which it found less prone to float error; ties round up.
                    var inverse = 1.0 / toNearest;
                    f = x => Math.Floor((x * inverse) + 0.5) / inverse;
                    break;
                }

                default:
                    throw new QueryException($"function {name} is not implemented", c.Pos, "execution");
            }
        }

        var result = new List<VectorSample>(input.Count);
        foreach (var s in input)
        {
            result.Add(new VectorSample(LabelOps.DropName(s.Metric), f(s.Value)));
        }

        return Evaluator.CheckUnique(result);
    }

    private static DateTime Date(double seconds) =>
        DateTime.UnixEpoch.AddSeconds(Math.Truncate(seconds));

    private static List<VectorSample> RangeFunction(Evaluator ev, CallExpr c, long ts)
    {
        var name = c.Func.Name;
        var matrixIndex = c.Func.ArgTypes[0] == PromType.Matrix ? 0 : 1;
        var matrixArg = c.Args[matrixIndex];
        var scalarArgs = new List<double>();
        for (var i = 0; i < c.Args.Count; i++)
        {
            if (i != matrixIndex)
            {
                scalarArgs.Add(ev.EvalScalar(c.Args[i], ts));
            }
        }

        var (rangeMs, offsetMs, at) = RangeOf(matrixArg);
        var windowTs = ev.TimeOf(at, ts);
        var keepName = name == "last_over_time";
        if (StepBlockAt(ev, c, ts) is { } block)
        {
            // A range query's step: read this step's column of a block computed series by series.
            var k = block.StepOf(ts, ev.GridStep);
            ev.CountSamples(block.StepSamples[k]);
            var column = new List<VectorSample>(block.PresentCount[k]);
            var labels = keepName ? block.Labels : block.NoName;
            for (var row = 0; row < block.Series; row++)
            {
                var cell = block.Cell(row, k);
                if (block.Present[cell])
                {
                    column.Add(new VectorSample(labels[row], block.Values[cell]));
                }
            }

            return (keepName ? block.Unique : block.UniqueWithoutName) ? column : Evaluator.CheckUnique(column);
        }

        if (matrixArg is MatrixSelector ms)
        {
            // Slide a window over each series' selected samples: no per-step copies of the points.
            var data = ev.Data(ms.Selector);
            var series = data.Series;
            var (mint, maxt) = ev.RangeWindow(ms.Selector, ts, ms.RangeMs);
            var windows = ev.WindowBuffer(series.Count);
            var present = 0;
            for (var i = 0; i < series.Count; i++)
            {
                var w = series[i].Window(mint, maxt);
                windows[i] = w;
                if (w.Length > 0)
                {
                    ev.CountSamples(w.Length);
                    present++;
                }
            }

            var fast = new List<VectorSample>(present);

            // rate, increase and delta resolved once, not by name per series.
            var extrapolated = name is "rate" or "increase" or "delta";
            var isCounter = name != "delta";
            var isRate = name == "rate";
            for (var i = 0; i < series.Count; i++)
            {
                var (start, length) = windows[i];
                if (length == 0)
                {
                    continue;
                }

                var s = series[i];
                if (extrapolated)
                {
                    // Counter-reset correction only where the series has a reset inside the window (it adds nothing
                    // elsewhere), so a window's samples are not walked one by one.
                    if (ExtrapolatedRate(new ReadOnlySpan<Sample>(s.Live, start, length), windowTs, rangeMs, offsetMs, isCounter && s.ResetWithin(start, length), isCounter, isRate) is { } r)
                    {
                        fast.Add(new VectorSample(s.NoName, r));
                    }

                    continue;
                }

                if (Compute(name, new ReadOnlySpan<Sample>(s.Live, start, length), ts, windowTs, rangeMs, offsetMs, scalarArgs, c) is { } v)
                {
                    // last_over_time acts like an offset, so it keeps the metric name; every other range function drops it.
                    fast.Add(new VectorSample(keepName ? s.Labels : s.NoName, v));
                }
            }

            return (keepName ? data.Unique : data.UniqueWithoutName) ? fast : Evaluator.CheckUnique(fast);
        }

        var matrix = ev.EvalMatrix(matrixArg, ts);
        var result = new List<VectorSample>(matrix.Count);
        foreach (var series in matrix)
        {
            if (Compute(name, series.Points, ts, windowTs, rangeMs, offsetMs, scalarArgs, c) is { } v)
            {
                result.Add(new VectorSample(keepName ? series.Metric : LabelOps.DropName(series.Metric), v));
            }
        }

        return Evaluator.CheckUnique(result);
    }

    /// <summary>The step block holding a range function call's results at <paramref name="ts"/>, built on first use, when
    /// the call is computed in step blocks: its argument a matrix selector, no scalar arguments, and <paramref name="ts"/>
    /// a step of the range query being run. Null otherwise. The caller charges <see cref="Evaluator.StepBlock.StepSamples"/>.</summary>
    internal static Evaluator.StepBlock? StepBlockAt(Evaluator ev, CallExpr c, long ts)
    {
        if (c.Args.Count != 1 || c.Args[0] is not MatrixSelector ms || c.Func.Name == "absent_over_time" || !ev.OnStepGrid(ts))
        {
            return null;
        }

        return ev.CachedStepBlock(c, ts) ?? BuildStepBlock(ev, c, ms, ts);
    }

    /// <summary>Whether a range function's results keep the metric name (last_over_time acts like an offset; every other
    /// range function drops it).</summary>
    internal static bool KeepsName(CallExpr c) => c.Func.Name == "last_over_time";

    /// <summary>About how many results one step block holds (series times steps), so a block stays within tens of megabytes
    /// however many series are selected.</summary>
    private const int StepBlockEntries = 4 << 20;

    /// <summary>Computes a range function without scalar arguments over a matrix selector for a run of steps from
    /// <paramref name="ts"/>, series by series, exactly as the step-by-step path computes each window. From a store that
    /// streams, each series is decoded into one scratch buffer, reduced over all the block's steps while it is in cache,
    /// and dropped: the block never holds the selected samples.</summary>
    private static Evaluator.StepBlock BuildStepBlock(Evaluator ev, CallExpr c, MatrixSelector ms, long ts)
    {
        var streaming = ev.Source as IStreamingSeriesSource;
        var capacity = streaming?.MatchingSeries(ms.Selector.Matchers) ?? ev.Data(ms.Selector).Series.Count;
        var steps = Math.Min(ev.StepsFrom(ts), Math.Clamp(StepBlockEntries / Math.Max(1, capacity), 4, 1024));
        var builder = new StepBlockBuilder(ev, c, ms, ts, steps, capacity);
        if (streaming is not null)
        {
            streaming.SelectEach(builder.MinTime, builder.MaxTime, ms.Selector.Matchers, builder.Add);
        }
        else
        {
            foreach (var s in ev.Data(ms.Selector).Series)
            {
                builder.Add(s.Labels, new ReadOnlySpan<Sample>(s.All, 0, s.Count));
            }
        }

        var block = builder.Finish();
        ev.CacheStepBlock(c, block);
        return block;
    }

    /// <summary>Fills a <see cref="Evaluator.StepBlock"/> one series at a time.</summary>
    private sealed class StepBlockBuilder
    {
        private readonly Evaluator _ev;
        private readonly CallExpr _call;
        private readonly string _name;
        private readonly Evaluator.StepBlock _block;
        private readonly long _rangeMs;
        private readonly long _offsetMs;
        private readonly long[] _stepTimes;
        private readonly long[] _windowTimes;
        private readonly long[] _mint;
        private readonly long[] _maxt;
        private readonly (int Start, int Length)[] _windows;
        private readonly bool _extrapolated;
        private readonly bool _isCounter;
        private readonly bool _isRate;
        private Sample[] _live = [];
        private int[] _resetsUpTo = [];
        private int[] _segmentFirst = [];
        private double[] _segmentSums = [];
        private double[] _segmentCompensations = [];

        public StepBlockBuilder(Evaluator ev, CallExpr call, MatrixSelector ms, long ts, int steps, int capacity)
        {
            _ev = ev;
            _call = call;
            _name = call.Func.Name;
            _block = new Evaluator.StepBlock(ts, steps, capacity);
            AtModifier at;
            (_rangeMs, _offsetMs, at) = RangeOf(ms);
            _stepTimes = new long[steps];
            _windowTimes = new long[steps];
            _mint = new long[steps];
            _maxt = new long[steps];
            _windows = new (int, int)[steps];
            MinTime = long.MaxValue;
            MaxTime = long.MinValue;
            for (var k = 0; k < steps; k++)
            {
                _stepTimes[k] = ts + (k * ev.GridStep);
                _windowTimes[k] = ev.TimeOf(at, _stepTimes[k]);
                (_mint[k], _maxt[k]) = ev.RangeWindow(ms.Selector, _stepTimes[k], _rangeMs);
                MinTime = Math.Min(MinTime, _mint[k]);
                MaxTime = Math.Max(MaxTime, _maxt[k]);
            }

            _extrapolated = _name is "rate" or "increase" or "delta";
            _isCounter = _name != "delta";
            _isRate = _name == "rate";
        }

        /// <summary>The time range every window of the block lies in.</summary>
        public long MinTime { get; }

        public long MaxTime { get; }

        public void Add(Labels labels, ReadOnlySpan<Sample> samples)
        {
            _ev.ThrowIfCancelled();
            var block = _block;
            if (block.Series == block.Labels.Length)
            {
                throw new InvalidOperationException("the store selected more series than it counted");
            }

            var live = WithoutStaleMarkers(samples);
            var row = block.Series;
            block.Labels[row] = labels;
            block.NoName[row] = LabelOps.DropName(labels);
            block.Series++;
            SlideWindows(live);

            if (_name == "avg_over_time")
            {
                AddAverages(live, row);
                return;
            }

            if (_extrapolated)
            {
                AddRates(live, row);
                return;
            }

            for (var k = 0; k < block.Steps; k++)
            {
                var (start, length) = _windows[k];
                if (length > 0 && Compute(_name, live.Slice(start, length), _stepTimes[k], _windowTimes[k], _rangeMs, _offsetMs, [], _call) is { } value)
                {
                    Put(row, k, value);
                }
            }
        }

        /// <summary>Every step's window over <paramref name="live"/> into <see cref="_windows"/>, charged to the steps.</summary>
        /// <remarks>The steps' windows move forward by about the same number of samples each time (a scrape interval into a
        /// step), so each bound first jumps by its previous move and is then corrected sample by sample: with regular
        /// samples the guess is exact and a bound costs two comparisons instead of one per sample it passes. The bounds
        /// are the same as <see cref="Evaluator.SlideWindow"/>'s: the first sample at or after the window's start, the
        /// first after its end (timestamps rise strictly).</remarks>
        private void SlideWindows(ReadOnlySpan<Sample> live)
        {
            var n = live.Length;
            var windows = _windows.AsSpan(0, _block.Steps);
            var stepSamples = _block.StepSamples.AsSpan(0, windows.Length);
            var mints = _mint.AsSpan(0, windows.Length);
            var maxts = _maxt.AsSpan(0, windows.Length);
            int lo = 0, hi = 0, loMove = 0, hiMove = 0;
            for (var k = 0; k < windows.Length; k++)
            {
                var newLo = Math.Clamp(lo + loMove, 0, n);
                newLo = Bound(live, newLo, mints[k]);
                var newHi = Math.Min(n, Math.Max(newLo, hi + hiMove));
                newHi = Bound(live, newHi, maxts[k] + 1);
                (loMove, hiMove) = (newLo - lo, newHi - hi);
                (lo, hi) = (newLo, newHi);
                var length = Math.Max(0, hi - lo);
                windows[k] = (lo, length);
                stepSamples[k] += length;
            }
        }

        /// <summary>The first index at or after which every timestamp is at least <paramref name="t"/>, searched from
        /// <paramref name="guess"/> in either direction.</summary>
        private static int Bound(ReadOnlySpan<Sample> live, int guess, long t)
        {
            var i = guess;
            if (i > 0 && live[i - 1].TimestampMs >= t)
            {
                do
                {
                    i--;
                }
                while (i > 0 && live[i - 1].TimestampMs >= t);

                return i;
            }

            while (i < live.Length && live[i].TimestampMs < t)
            {
                i++;
            }

            return i;
        }

        /// <summary>rate, increase or delta of every window of the block, each as
        /// <see cref="ExtrapolatedRate(ReadOnlySpan{Sample}, long, long, long, bool, bool, bool)"/> computes it.</summary>
        /// <remarks>The extrapolation factor depends only on where the window's first and last samples lie in it and how
        /// many it holds, a shape regular samples under a regular step repeat from window to window: it is computed with
        /// the same operations when the shape changes and reused while it does not (the same operations on the same
        /// operands, so the same bits), which saves three or four divisions a window. A window with a counter reset in it,
        /// or where the counter's zero cuts the extrapolation short, is computed whole.</remarks>
        private void AddRates(ReadOnlySpan<Sample> live, int row)
        {
            // Most counters never reset: one scan finds that, and no window then needs the prefix of resets.
            var resets = _isCounter && SampleScans.HasDecrease(live) ? CountResets(live) : default;
            var rangeSeconds = _rangeMs / 1000.0;

            // Put inlined, the block's arrays read once: step k's cell is the row's first plus k tile lines.
            var values = _block.Values;
            var present = _block.Present;
            var presentCount = _block.PresentCount;
            var cell = _block.Cell(row, 0) - Evaluator.StepBlock.TileRows;
            long shapeStart = -1, shapeEnd = -1, shapeInterval = -1;
            var shapeCount = 0;
            double durationToStart = 0, sampledInterval = 0, factor = 0;
            for (var k = 0; k < _block.Steps; k++)
            {
                cell += Evaluator.StepBlock.TileRows;
                var (start, length) = _windows[k];
                if (length < 2)
                {
                    continue;
                }

                var window = live.Slice(start, length);

                // Counter-reset correction only where a reset lies between two of the window's samples.
                var correctResets = _isCounter && !resets.IsEmpty && resets[start + length - 1] != resets[start];
                var first = window[0];
                var last = window[^1];
                var ts = _windowTimes[k];
                var toStart = first.TimestampMs - (ts - (_rangeMs + _offsetMs));
                var toEnd = ts - _offsetMs - last.TimestampMs;
                var interval = last.TimestampMs - first.TimestampMs;
                if (correctResets)
                {
                    Put(row, k, ExtrapolatedRate(window, ts, _rangeMs, _offsetMs, correctResets, _isCounter, _isRate)!.Value);
                    continue;
                }

                if (toStart != shapeStart || toEnd != shapeEnd || interval != shapeInterval || length != shapeCount)
                {
                    (shapeStart, shapeEnd, shapeInterval, shapeCount) = (toStart, toEnd, interval, length);
                    durationToStart = Seconds(toStart);
                    var durationToEnd = Seconds(toEnd);
                    sampledInterval = Seconds(interval);
                    var averageDurationBetweenSamples = sampledInterval / (length - 1);
                    var threshold = averageDurationBetweenSamples * 1.1;
                    var extrapolateToInterval = sampledInterval;
                    extrapolateToInterval += durationToStart < threshold ? durationToStart : averageDurationBetweenSamples / 2;
                    extrapolateToInterval += durationToEnd < threshold ? durationToEnd : averageDurationBetweenSamples / 2;
                    factor = extrapolateToInterval / sampledInterval;
                    if (_isRate)
                    {
                        factor /= rangeSeconds;
                    }
                }

                var result = last.Value - first.Value;
                if (_isCounter && result > 0 && first.Value >= 0 && !ZeroLiesFurther(sampledInterval * first.Value, durationToStart * result)
                    && sampledInterval * (first.Value / result) < durationToStart)
                {
                    Put(row, k, ExtrapolatedRate(window, ts, _rangeMs, _offsetMs, correctResets, _isCounter, _isRate)!.Value);
                    continue;
                }

                values[cell] = result * factor;
                present[cell] = true;
                presentCount[k]++;
            }
        }

        public Evaluator.StepBlock Finish()
        {
            var block = _block;
            var names = new HashSet<Labels>();
            var noNames = new HashSet<Labels>();
            block.Unique = true;
            block.UniqueWithoutName = true;
            for (var i = 0; i < block.Series; i++)
            {
                block.Unique &= names.Add(block.Labels[i]);
                block.UniqueWithoutName &= noNames.Add(block.NoName[i]);
            }

            return block;
        }

        /// <summary>avg_over_time of every window of the block, with <see cref="AvgOverTime"/>'s arithmetic: the sums of
        /// whole grid segments are computed once per series and shared by the windows holding them, so each sample is added
        /// about once rather than once per window that holds it.</summary>
        private void AddAverages(ReadOnlySpan<Sample> live, int row)
        {
            if (!AllModerate(live))
            {
                for (var k = 0; k < _block.Steps; k++)
                {
                    if (_windows[k].Length > 0)
                    {
                        Put(row, k, AvgOverTime(live.Slice(_windows[k].Start, _windows[k].Length)));
                    }
                }

                return;
            }

            // The series' segments: _segmentFirst[s] is the index of segment s's first sample (a sentinel at the end).
            if (_segmentFirst.Length < live.Length + 1)
            {
                _segmentFirst = new int[live.Length + 1];
                _segmentSums = new double[live.Length];
                _segmentCompensations = new double[live.Length];
            }

            var segments = 0;
            for (var i = 0; i < live.Length;)
            {
                var end = SegmentEnd(live, i);
                _segmentFirst[segments] = i;
                (_segmentSums[segments], _segmentCompensations[segments]) = PieceSum(live[i..end]);
                segments++;
                i = end;
            }

            _segmentFirst[segments] = live.Length;
            var cursor = 0;
            for (var k = 0; k < _block.Steps; k++)
            {
                var (from, count) = _windows[k];
                if (count == 0)
                {
                    continue;
                }

                var to = from + count;
                while (cursor > 0 && _segmentFirst[cursor] > from)
                {
                    cursor--;
                }

                while (_segmentFirst[cursor + 1] <= from)
                {
                    cursor++;
                }

                double total = 0, compensation = 0;
                for (var seg = cursor; seg < segments && _segmentFirst[seg] < to; seg++)
                {
                    var first = Math.Max(from, _segmentFirst[seg]);
                    var last = Math.Min(to, _segmentFirst[seg + 1]);
                    var (sum, c) = first == _segmentFirst[seg] && last == _segmentFirst[seg + 1]
                        ? (_segmentSums[seg], _segmentCompensations[seg])
                        : PieceSum(live[first..last]);
                    (total, compensation) = TwoSumInc(sum, total, compensation);
                    compensation += c;
                }

                Put(row, k, (total + compensation) / count);
            }
        }

        private void Put(int row, int k, double value)
        {
            var cell = _block.Cell(row, k);
            _block.Values[cell] = value;
            _block.Present[cell] = true;
            _block.PresentCount[k]++;
        }

        /// <summary>The samples without staleness markers (range functions never see them): the input itself when it
        /// has none.</summary>
        private ReadOnlySpan<Sample> WithoutStaleMarkers(ReadOnlySpan<Sample> samples)
        {
            if (SampleScans.IndexOfStaleMarker(samples) < 0)
            {
                return samples;
            }

            if (_live.Length < samples.Length)
            {
                _live = new Sample[samples.Length];
            }

            var n = 0;
            foreach (var s in samples)
            {
                if (!StaleMarker.Is(s.Value))
                {
                    _live[n++] = s;
                }
            }

            return _live.AsSpan(0, n);
        }

        /// <summary>For each index i, how many counter resets (a value below its predecessor) lie in live[1..i].</summary>
        private ReadOnlySpan<int> CountResets(ReadOnlySpan<Sample> live)
        {
            if (_resetsUpTo.Length < live.Length)
            {
                _resetsUpTo = new int[live.Length];
            }

            var count = 0;
            if (live.Length > 0)
            {
                _resetsUpTo[0] = 0;
            }

            for (var i = 1; i < live.Length; i++)
            {
                if (live[i].Value < live[i - 1].Value)
                {
                    count++;
                }

                _resetsUpTo[i] = count;
            }

            return _resetsUpTo.AsSpan(0, live.Length);
        }
    }

    private static double? Compute(string name, ReadOnlySpan<Sample> p, long ts, long windowTs, long rangeMs, long offsetMs, List<double> scalarArgs, CallExpr c) => name switch
    {
        "rate" => ExtrapolatedRate(p, windowTs, rangeMs, offsetMs, isCounter: true, isRate: true),
        "increase" => ExtrapolatedRate(p, windowTs, rangeMs, offsetMs, isCounter: true, isRate: false),
        "delta" => ExtrapolatedRate(p, windowTs, rangeMs, offsetMs, isCounter: false, isRate: false),
        "irate" => InstantDelta(p, isRate: true),
        "idelta" => InstantDelta(p, isRate: false),
        "deriv" => p.Length < 2 ? null : LinearRegression(p, p[0].TimestampMs).Slope,
        "predict_linear" => p.Length < 2 ? null : PredictLinear(p, ts, scalarArgs[0]),
        "holt_winters" => HoltWinters(p, scalarArgs[0], scalarArgs[1]),
        "changes" => Changes(p),
        "resets" => Resets(p),
        "avg_over_time" => AvgOverTime(p),
        "min_over_time" => MinMax(p, max: false),
        "max_over_time" => MinMax(p, max: true),
        "sum_over_time" => SumOverTime(p),
        "count_over_time" => p.Length,
        "last_over_time" => p[^1].Value,
        "present_over_time" => 1,
        "stddev_over_time" => Math.Sqrt(StdvarOverTime(p)),
        "stdvar_over_time" => StdvarOverTime(p),
        "quantile_over_time" => Aggregations.Quantile(scalarArgs[0], ValuesOf(p)),
        _ => throw new QueryException($"function {name} is not implemented", c.Pos, "execution"),
    };

    private static List<double> ValuesOf(ReadOnlySpan<Sample> p)
    {
        var values = new List<double>(p.Length);
        foreach (var s in p)
        {
            values.Add(s.Value);
        }

        return values;
    }

    private static (long RangeMs, long OffsetMs, AtModifier At) RangeOf(Expr e) => e switch
    {
        MatrixSelector m => (m.RangeMs, m.Selector.OffsetMs, m.Selector.At),
        SubqueryExpr s => (s.RangeMs, s.OffsetMs, s.At),
        _ => (0, 0, default),
    };

    /// <summary>Prometheus' extrapolatedRate: the increase between the first and last sample (counter resets added back),
    /// extrapolated towards the window's edges unless a sample gap suggests the series started or ended inside it.</summary>
    private static double? ExtrapolatedRate(ReadOnlySpan<Sample> p, long ts, long rangeMs, long offsetMs, bool isCounter, bool isRate) =>
        ExtrapolatedRate(p, ts, rangeMs, offsetMs, correctResets: isCounter, isCounter, isRate);

    /// <summary>Prometheus' extrapolatedRate; <paramref name="correctResets"/> false skips the walk for counter resets
    /// (the caller knows there are none in <paramref name="p"/>).</summary>
    private static double? ExtrapolatedRate(ReadOnlySpan<Sample> p, long ts, long rangeMs, long offsetMs, bool correctResets, bool isCounter, bool isRate)
    {
        if (p.Length < 2)
        {
            return null;
        }

        var rangeStart = ts - (rangeMs + offsetMs);
        var rangeEnd = ts - offsetMs;
        var first = p[0];
        var last = p[^1];
        var result = last.Value - first.Value;
        if (correctResets)
        {
            var prev = first.Value;
            for (var i = 1; i < p.Length; i++)
            {
                if (p[i].Value < prev)
                {
                    result += prev;
                }

                prev = p[i].Value;
            }
        }

        var durationToStart = Seconds(first.TimestampMs - rangeStart);
        var durationToEnd = Seconds(rangeEnd - last.TimestampMs);
        var sampledInterval = Seconds(last.TimestampMs - first.TimestampMs);
        var averageDurationBetweenSamples = sampledInterval / (p.Length - 1);

        // A counter cannot go below zero: do not extrapolate further back than where it would have been zero. The
        // division is skipped where the product shows (with a margin far above rounding) that zero lies further back.
        if (isCounter && result > 0 && first.Value >= 0 && !ZeroLiesFurther(sampledInterval * first.Value, durationToStart * result))
        {
            var durationToZero = sampledInterval * (first.Value / result);
            if (durationToZero < durationToStart)
            {
                durationToStart = durationToZero;
            }
        }

        var threshold = averageDurationBetweenSamples * 1.1;
        var extrapolateToInterval = sampledInterval;
        extrapolateToInterval += durationToStart < threshold ? durationToStart : averageDurationBetweenSamples / 2;
        extrapolateToInterval += durationToEnd < threshold ? durationToEnd : averageDurationBetweenSamples / 2;

        var factor = extrapolateToInterval / sampledInterval;
        if (isRate)
        {
            factor /= rangeMs / 1000.0;
        }

        return result * factor;
    }

    /// <summary>Whether <c>a / r</c> (here the counter's duration to zero times its increase) is certainly above
    /// <c>b / r</c>: products neither overflowing nor near the subnormal range, apart by far more than rounding.</summary>
    private static bool ZeroLiesFurther(double a, double b) => double.IsFinite(a) && b > 1e-280 && a > b * (1 + 1e-9);

    /// <summary>Milliseconds as seconds, as <c>ms / 1000.0</c> bit for bit: a whole number of seconds (the usual case)
    /// is divided exactly in integers, which is several times cheaper than a floating-point division.</summary>
    private static double Seconds(long ms) => ms % 1000 == 0 ? ms / 1000 : ms / 1000.0;

    private static double? InstantDelta(ReadOnlySpan<Sample> p, bool isRate)
    {
        if (p.Length < 2)
        {
            return null;
        }

        var last = p[^1];
        var prev = p[^2];
        var result = last.Value - prev.Value;
        if (isRate && last.Value < prev.Value)
        {
            // Counter reset: the last value is the increase since the reset.
            result = last.Value;
        }

        var interval = last.TimestampMs - prev.TimestampMs;
        if (interval == 0)
        {
            return null;
        }

        if (isRate)
        {
            result /= interval / 1000.0;
        }

        return result;
    }

    /// <summary>Neumaier-compensated summation step, as Prometheus' kahanSumInc.</summary>
    private static (double Sum, double C) KahanInc(double inc, double sum, double c)
    {
        var t = sum + inc;
        if (Math.Abs(sum) >= Math.Abs(inc))
        {
            c += (sum - t) + inc;
        }
        else
        {
            c += (inc - t) + sum;
        }

        return (t, c);
    }

    private static (double Slope, double Intercept) LinearRegression(ReadOnlySpan<Sample> p, long interceptTime)
    {
        double n = 0, sumX = 0, cX = 0, sumY = 0, cY = 0, sumXY = 0, cXY = 0, sumX2 = 0, cX2 = 0;
        var initY = p[0].Value;
        var constY = true;
        for (var i = 0; i < p.Length; i++)
        {
            var s = p[i];
            if (constY && i > 0 && s.Value != initY)
            {
                constY = false;
            }

            n += 1;
            var x = (s.TimestampMs - interceptTime) / 1e3;
            (sumX, cX) = KahanInc(x, sumX, cX);
            (sumY, cY) = KahanInc(s.Value, sumY, cY);
            (sumXY, cXY) = KahanInc(x * s.Value, sumXY, cXY);
            (sumX2, cX2) = KahanInc(x * x, sumX2, cX2);
        }

        if (constY)
        {
            return double.IsInfinity(initY) ? (double.NaN, double.NaN) : (0, initY);
        }

        sumX += cX;
        sumY += cY;
        sumXY += cXY;
        sumX2 += cX2;
        var covXY = sumXY - (sumX * sumY / n);
        var varX = sumX2 - (sumX * sumX / n);
        var slope = covXY / varX;
        var intercept = (sumY / n) - (slope * sumX / n);
        return (slope, intercept);
    }

    private static double PredictLinear(ReadOnlySpan<Sample> p, long ts, double durationSeconds)
    {
        var (slope, intercept) = LinearRegression(p, ts);
        return (slope * durationSeconds) + intercept;
    }

    private static double? HoltWinters(ReadOnlySpan<Sample> p, double sf, double tf)
    {
        if (sf <= 0 || sf >= 1)
        {
            throw new QueryException($"invalid smoothing factor. Expected: 0 < sf < 1, got: {GoFloat.FormatF(sf)}", -1, "execution");
        }

        if (tf <= 0 || tf >= 1)
        {
            throw new QueryException($"invalid trend factor. Expected: 0 < tf < 1, got: {GoFloat.FormatF(tf)}", -1, "execution");
        }

        if (p.Length < 2)
        {
            return null;
        }

        double s0 = 0, s1 = p[0].Value, b = p[1].Value - p[0].Value;
        for (var i = 1; i < p.Length; i++)
        {
            var x = sf * p[i].Value;
            if (i > 1)
            {
                b = (tf * (s1 - s0)) + ((1 - tf) * b);
            }

            var y = (1 - sf) * (s1 + b);
            (s0, s1) = (s1, x + y);
        }

        return s1;
    }

    private static double Changes(ReadOnlySpan<Sample> p)
    {
        var changes = 0;
        var prev = p[0].Value;
        for (var i = 1; i < p.Length; i++)
        {
            var cur = p[i].Value;
            if (cur != prev && !(double.IsNaN(cur) && double.IsNaN(prev)))
            {
                changes++;
            }

            prev = cur;
        }

        return changes;
    }

    private static double Resets(ReadOnlySpan<Sample> p)
    {
        var resets = 0;
        var prev = p[0].Value;
        for (var i = 1; i < p.Length; i++)
        {
            var cur = p[i].Value;
            if (cur < prev)
            {
                resets++;
            }

            prev = cur;
        }

        return resets;
    }

    /// <summary>avg_over_time's grid: a window's sum adds up, in time order, the sums of its samples in each
    /// (k·60 s, (k+1)·60 s] segment, each summed from zero with Neumaier compensation. The result depends only on the
    /// window's samples, so a range query (whose step blocks share whole segments' sums between windows) answers bit for
    /// bit as an instant query, however its steps are split across threads.</summary>
    private const long AverageSegmentMs = 60_000;

    /// <summary>avg_over_time of one window: the sum over <see cref="AverageSegmentMs"/> segments divided by the count,
    /// which equals Prometheus' incremental mean within a few units in the last place. A window holding NaN, an infinity or
    /// a value large enough for the sum to overflow takes Prometheus 2.42's incremental mean itself.</summary>
    private static double AvgOverTime(ReadOnlySpan<Sample> p)
    {
        if (!AllModerate(p))
        {
            return IncrementalMean(p);
        }

        double total = 0, compensation = 0;
        for (var i = 0; i < p.Length;)
        {
            var end = SegmentEnd(p, i);
            var (sum, c) = PieceSum(p[i..end]);
            (total, compensation) = TwoSumInc(sum, total, compensation);
            compensation += c;
            i = end;
        }

        return (total + compensation) / p.Length;
    }

    /// <summary>Whether every value is finite and small enough (at most 1e300) that no sum of a day's samples overflows.</summary>
    private static bool AllModerate(ReadOnlySpan<Sample> p) => SampleScans.AllWithin(p, 1e300);

    /// <summary>The index after the last sample of <paramref name="p"/> in the grid segment of sample <paramref name="i"/>.</summary>
    private static int SegmentEnd(ReadOnlySpan<Sample> p, int i)
    {
        // Segment k is (k·G, (k+1)·G]: its end is the first multiple of G at or after the timestamp.
        var t = p[i].TimestampMs;
        var end = (t / AverageSegmentMs * AverageSegmentMs) + (t % AverageSegmentMs > 0 ? AverageSegmentMs : 0);
        var j = i + 1;
        while (j < p.Length && p[j].TimestampMs <= end)
        {
            j++;
        }

        return j;
    }

    /// <summary>The Neumaier sum of a run of samples, from zero.</summary>
    private static (double Sum, double C) PieceSum(ReadOnlySpan<Sample> p)
    {
        double sum = 0, c = 0;
        foreach (var s in p)
        {
            (sum, c) = TwoSumInc(s.Value, sum, c);
        }

        return (sum, c);
    }

    /// <summary>Adds <paramref name="inc"/> to <paramref name="sum"/>, accumulating the rounding error exactly (Knuth's
    /// TwoSum: the same compensation as <see cref="KahanInc"/>, without its data-dependent branch).</summary>
    private static (double Sum, double C) TwoSumInc(double inc, double sum, double c)
    {
        var t = sum + inc;
        var back = t - sum;
        return (t, c + ((sum - (t - back)) + (inc - back)));
    }

    /// <summary>Prometheus 2.42's avg_over_time: the incremental mean with Neumaier compensation, one sample at a time.</summary>
    private static double IncrementalMean(ReadOnlySpan<Sample> p)
    {
        var avg = default(AvgState);
        foreach (var s in p)
        {
            avg.Add(s.Value);
        }

        return avg.Result;
    }

    /// <summary>avg_over_time's running state (Prometheus 2.42's incremental mean with Neumaier compensation), one sample at a time.</summary>
    private struct AvgState
    {
        private double _mean;
        private double _count;
        private double _c;

        public AvgState(double mean, double count, double c)
        {
            _mean = mean;
            _count = count;
            _c = c;
        }

        public readonly double Result => double.IsInfinity(_mean) ? _mean : _mean + _c;

        public void Add(double v)
        {
            _count++;
            if (double.IsInfinity(_mean))
            {
                if (double.IsInfinity(v) && (_mean > 0) == (v > 0))
                {
                    return;
                }

                if (!double.IsInfinity(v) && !double.IsNaN(v))
                {
                    return;
                }
            }

            (_mean, _c) = KahanInc((v / _count) - (_mean / _count), _mean, _c);
        }
    }


    private static double MinMax(ReadOnlySpan<Sample> p, bool max)
    {
        var r = p[0].Value;
        foreach (var s in p)
        {
            if ((max ? s.Value > r : s.Value < r) || double.IsNaN(r))
            {
                r = s.Value;
            }
        }

        return r;
    }

    private static double SumOverTime(ReadOnlySpan<Sample> p)
    {
        double sum = 0, c = 0;
        foreach (var s in p)
        {
            (sum, c) = KahanInc(s.Value, sum, c);
        }

        return double.IsInfinity(sum) ? sum : sum + c;
    }

    private static double StdvarOverTime(ReadOnlySpan<Sample> p)
    {
        double count = 0, mean = 0, cMean = 0, aux = 0, cAux = 0;
        foreach (var s in p)
        {
            count++;
            var delta = s.Value - (mean + cMean);
            (mean, cMean) = KahanInc(delta / count, mean, cMean);
            (aux, cAux) = KahanInc(delta * (s.Value - (mean + cMean)), aux, cAux);
        }

        return (aux + cAux) / count;
    }

    private static List<VectorSample> HistogramQuantile(double q, List<VectorSample> vec)
    {
        var groups = new Dictionary<Labels, List<(double Upper, double Count)>>();
        var order = new List<Labels>();
        foreach (var s in vec)
        {
            var le = s.Metric.Get("le");
            if (le is null || GoFloat.Parse(le) is not { } upper)
            {
                continue;
            }

            var key = LabelOps.Remove(s.Metric, ["le"], alsoName: true);
            if (!groups.TryGetValue(key, out var buckets))
            {
                buckets = [];
                groups[key] = buckets;
                order.Add(key);
            }

            buckets.Add((upper, s.Value));
        }

        var result = new List<VectorSample>(order.Count);
        foreach (var key in order)
        {
            result.Add(new VectorSample(key, BucketQuantile(q, groups[key])));
        }

        return result;
    }

    /// <summary>Prometheus' bucketQuantile (promql/quantile.go): linear interpolation inside the bucket holding the rank.</summary>
    private static double BucketQuantile(double q, List<(double Upper, double Count)> input)
    {
        // A NaN quantile would otherwise search past every bucket and answer the second-highest bound.
        if (double.IsNaN(q))
        {
            return double.NaN;
        }

        if (q < 0)
        {
            return double.NegativeInfinity;
        }

        if (q > 1)
        {
            return double.PositiveInfinity;
        }

        var sorted = input.OrderBy(b => b.Upper).ToList();
        if (!double.IsPositiveInfinity(sorted[^1].Upper))
        {
            return double.NaN;
        }

        // Coalesce buckets with the same upper bound, then force the counts to be monotonic.
        var buckets = new List<(double Upper, double Count)>();
        foreach (var b in sorted)
        {
            if (buckets.Count > 0 && buckets[^1].Upper == b.Upper)
            {
                buckets[^1] = (b.Upper, buckets[^1].Count + b.Count);
            }
            else
            {
                buckets.Add(b);
            }
        }

        var max = double.NegativeInfinity;
        for (var i = 0; i < buckets.Count; i++)
        {
            if (buckets[i].Count > max)
            {
                max = buckets[i].Count;
            }
            else if (buckets[i].Count < max)
            {
                buckets[i] = (buckets[i].Upper, max);
            }
        }

        if (buckets.Count < 2)
        {
            return double.NaN;
        }

        var observations = buckets[^1].Count;
        if (observations == 0)
        {
            return double.NaN;
        }

        var rank = q * observations;
        var idx = 0;
        var searchLen = buckets.Count - 1;
        while (idx < searchLen && !(buckets[idx].Count >= rank))
        {
            idx++;
        }

        if (idx == buckets.Count - 1)
        {
            return buckets[^2].Upper;
        }

        if (idx == 0 && buckets[0].Upper <= 0)
        {
            return buckets[0].Upper;
        }

        double bucketStart = 0;
        var bucketEnd = buckets[idx].Upper;
        var count = buckets[idx].Count;
        if (idx > 0)
        {
            bucketStart = buckets[idx - 1].Upper;
            count -= buckets[idx - 1].Count;
            rank -= buckets[idx - 1].Count;
        }

        return bucketStart + ((bucketEnd - bucketStart) * (rank / count));
    }

    private static List<VectorSample> LabelReplace(Evaluator ev, CallExpr c, long ts)
    {
        var dst = ev.EvalString(c.Args[1], ts);
        var replacement = ev.EvalString(c.Args[2], ts);
        var src = ev.EvalString(c.Args[3], ts);
        var pattern = ev.EvalString(c.Args[4], ts);
        Regex regex;
        try
        {
            // RE2 semantics as Prometheus compiles it: anchored at the very end (\z, not before a final newline).
            regex = new Regex($"^(?:{pattern})\\z", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException ex)
        {
            throw new QueryException($"invalid regular expression in label_replace(): {pattern}: {ex.Message}", -1, "execution");
        }

        if (!LabelRules.IsValidLabelName(dst) && dst != Labels.MetricNameLabel)
        {
            throw new QueryException($"invalid destination label name in label_replace(): {dst}", -1, "execution");
        }

        var result = new List<VectorSample>();
        foreach (var s in ev.EvalVector(c.Args[0], ts))
        {
            var m = regex.Match(s.Metric.Get(src) ?? "");
            if (!m.Success)
            {
                result.Add(s);
                continue;
            }

            result.Add(new VectorSample(s.Metric.With(dst, Expand(m, replacement)), s.Value));
        }

        return Evaluator.CheckUnique(result);
    }

    /// <summary>Go's Regexp.Expand: <c>$1</c>, <c>${1}</c>, <c>$name</c>, <c>$$</c>; a name is the longest run of
    /// letters, digits and underscores, and an unknown group expands to nothing.</summary>
    private static string Expand(Match m, string template)
    {
        var sb = new StringBuilder();
        var i = 0;
        while (i < template.Length)
        {
            var ch = template[i];
            if (ch != '$' || i + 1 >= template.Length)
            {
                sb.Append(ch);
                i++;
                continue;
            }

            if (template[i + 1] == '$')
            {
                sb.Append('$');
                i += 2;
                continue;
            }

            string name;
            int end;
            if (template[i + 1] == '{')
            {
                var close = template.IndexOf('}', i + 2);
                if (close < 0)
                {
                    sb.Append(ch);
                    i++;
                    continue;
                }

                name = template[(i + 2)..close];
                end = close + 1;
            }
            else
            {
                end = i + 1;
                while (end < template.Length && (char.IsAsciiLetterOrDigit(template[end]) || template[end] == '_'))
                {
                    end++;
                }

                name = template[(i + 1)..end];
            }

            if (name.Length == 0)
            {
                sb.Append(ch);
                i++;
                continue;
            }

            var group = int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var num)
                ? m.Groups[num]
                : m.Groups[name];
            if (group.Success)
            {
                sb.Append(group.Value);
            }

            i = end;
        }

        return sb.ToString();
    }

    private static List<VectorSample> LabelJoin(Evaluator ev, CallExpr c, long ts)
    {
        var dst = ev.EvalString(c.Args[1], ts);
        var sep = ev.EvalString(c.Args[2], ts);
        var srcs = new List<string>();
        for (var i = 3; i < c.Args.Count; i++)
        {
            var src = ev.EvalString(c.Args[i], ts);
            if (!LabelRules.IsValidLabelName(src) && src != Labels.MetricNameLabel)
            {
                throw new QueryException($"invalid source label name in label_join(): {src}", -1, "execution");
            }

            srcs.Add(src);
        }

        if (!LabelRules.IsValidLabelName(dst) && dst != Labels.MetricNameLabel)
        {
            throw new QueryException($"invalid destination label name in label_join(): {dst}", -1, "execution");
        }

        var result = new List<VectorSample>();
        foreach (var s in ev.EvalVector(c.Args[0], ts))
        {
            var joined = string.Join(sep, srcs.Select(n => s.Metric.Get(n) ?? ""));
            result.Add(new VectorSample(s.Metric.With(dst, joined), s.Value));
        }

        return Evaluator.CheckUnique(result);
    }
}
