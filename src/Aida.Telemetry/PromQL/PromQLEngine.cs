using Aida.Telemetry.Query;
using System.Text.RegularExpressions;
using Aida.Telemetry.Series;

namespace Aida.Telemetry.PromQL;

/// <summary>Evaluates PromQL against an <see cref="ISeriesSource"/> with Prometheus 2.42's semantics.</summary>
/// <remarks>Parse and type errors throw <see cref="QueryException"/> with the 0-based position of the problem; runtime
/// errors throw it with error type <c>execution</c>, and cancellation with <c>canceled</c>.</remarks>
public sealed class PromQLEngine
{
    // Parsed queries by text: the same rules run every minute (the alerting's parse took 4 % of an agent's tick). An AST
    // is never changed once parsed (range queries already share one across threads); bounded by starting over when full.
    private const int ParsedLimit = 1024;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Expr> Parsed = new(StringComparer.Ordinal);

    private readonly ISeriesSource _source;
    private readonly EngineOptions _options;
    private readonly RangeResultCache? _ranges;

    public PromQLEngine(ISeriesSource source, EngineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _options = options ?? new EngineOptions();
        _ranges = source is IChangeLog changes && _options.RangeCachePoints > 0 ? new RangeResultCache(changes, _options.RangeCachePoints) : null;
    }

    /// <summary>Range query steps answered from kept results and evaluated, since the engine was made (both zero when it
    /// keeps none: <see cref="EngineOptions.RangeCachePoints"/>).</summary>
    public (long Kept, long Evaluated) RangeSteps => _ranges?.Steps ?? default;

    /// <summary>The metric names <paramref name="query"/> selects, in the order they first appear (a selector without a
    /// name, <c>{job="x"}</c>, names none).</summary>
    /// <exception cref="QueryException">The query does not parse.</exception>
    public static IReadOnlyList<string> MetricNames(string query)
    {
        var names = new List<string>();
        Collect(Parser.Parse(query), names);
        return names;

        static void Collect(Expr e, List<string> names)
        {
            if (e is VectorSelector { Name: { } name } && !names.Contains(name))
            {
                names.Add(name);
            }

            foreach (var child in Expr.Children(e))
            {
                Collect(child, names);
            }
        }
    }

    /// <summary><paramref name="query"/> parsed, once per text while it is in use (a query that does not parse throws
    /// every time).</summary>
    private static Expr Parse(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (Parsed.TryGetValue(query, out var expr))
        {
            return expr;
        }

        expr = Parser.Parse(query);
        if (Parsed.Count >= ParsedLimit)
        {
            Parsed.Clear();
        }

        Parsed[query] = expr;
        return expr;
    }

    /// <summary>An instant query at <paramref name="timeMs"/> (milliseconds since the epoch), as <c>/api/v1/query</c>.</summary>
    public QueryResult Instant(string query, long timeMs, CancellationToken ct = default)
    {
        var expr = Parse(query);
        return Run(() =>
        {
            using var ev = new Evaluator(_source, _options, expr, timeMs, timeMs, ct);
            return ev.EvalTop(expr, timeMs) switch
            {
                ScalarValue s => QueryResult.OfScalar(timeMs, s.Value),
                StringValue s => new QueryResult(ResultType.String, [], new Sample(timeMs, double.NaN), s.Value),
                List<VectorSample> v => new QueryResult(ResultType.Vector, v.ConvertAll(x => new SeriesSamples(x.Metric, [new Sample(timeMs, x.Value)]))),
                List<RangeSeries> m => new QueryResult(ResultType.Matrix, SortedMatrix(m.ConvertAll(x => new SeriesSamples(x.Metric, x.ToArray())))),
                _ => throw new QueryException("unexpected result type", -1, "execution"),
            };
        }, ct);
    }

    /// <summary>A range query evaluated at start, start + step, … up to end, as <c>/api/v1/query_range</c>; always a matrix.</summary>
    public QueryResult Range(string query, long startMs, long endMs, long stepMs, CancellationToken ct = default)
    {
        var expr = Parse(query);
        if (expr.Type is not (PromType.Scalar or PromType.Vector))
        {
            throw new QueryException($"invalid expression type \"{Expr.Describe(expr.Type)}\" for range query, must be Scalar or instant Vector", -1);
        }

        if (stepMs <= 0)
        {
            throw new QueryException("zero or negative query resolution step widths are not accepted. Try a positive integer", -1);
        }

        if (endMs < startMs)
        {
            throw new QueryException("end timestamp must not be before start time", -1);
        }

        return _ranges is not null && RangeResultCache.Reusable(expr)
            ? Run(() => _ranges.Answer(query, startMs, endMs, stepMs, from => Evaluate(expr, from, endMs, stepMs, ct), _options.MaxSamples, TooManySamples), ct)
            : Run(() => Evaluate(expr, startMs, endMs, stepMs, ct), ct);
    }

    /// <summary>Evaluates a range query's steps, cut into spans evaluated in parallel.</summary>
    private QueryResult Evaluate(Expr expr, long startMs, long endMs, long stepMs, CancellationToken ct)
    {
        // Steps are independent: cut them into contiguous spans, evaluate each on its own thread, and join the spans'
        // series in step order.
        var steps = ((endMs - startMs) / stepMs) + 1;
        var spans = (int)Math.Clamp(steps / Math.Max(1, _options.MinStepsPerThread), 1, Math.Max(1, _options.MaxQueryThreads));
        var parts = new StepSpan[spans];
        var failures = new Exception?[spans];
        void EvaluateSpan(int p)
        {
            var first = steps * p / spans;
            var last = (steps * (p + 1) / spans) - 1;
            try
            {
                parts[p] = EvaluateSteps(expr, startMs, endMs, startMs + (first * stepMs), startMs + (last * stepMs), stepMs, ct);
            }
            catch (Exception e) when (spans > 1)
            {
                failures[p] = e;
            }
        }

        if (spans == 1)
        {
            EvaluateSpan(0);
        }
        else
        {
            var others = new Task[spans - 1];
            for (var p = 1; p < spans; p++)
            {
                var index = p;
                others[p - 1] = Task.Run(() => EvaluateSpan(index), CancellationToken.None);
            }

            EvaluateSpan(0);
            Task.WaitAll(others, CancellationToken.None);

            // The earliest span's error is the one a sequential evaluation would have met first.
            foreach (var failure in failures)
            {
                if (failure is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
                }
            }
        }

        var series = parts[0].Series;
        var points = parts[0].Points;
        for (var p = 1; p < spans; p++)
        {
            points += parts[p].Points;
            foreach (var (labels, samples) in parts[p].Series)
            {
                if (series.TryGetValue(labels, out var earlier))
                {
                    // Exactly: List's growth would double the array (a day's 1,441 points in room for 2,880).
                    earlier.Capacity = Math.Max(earlier.Capacity, earlier.Count + samples.Count);
                    earlier.AddRange(samples);
                }
                else
                {
                    series[labels] = samples;
                }
            }
        }

        if (points > _options.MaxSamples)
        {
            throw TooManySamples();
        }

        var list = new List<SeriesSamples>(series.Count);
        foreach (var (labels, samples) in series)
        {
            list.Add(new SeriesSamples(labels, samples));
        }

        return new QueryResult(ResultType.Matrix, SortedMatrix(list));
    }

    /// <summary>What one span of a range query's steps produced: each series' points, and how many in all.</summary>
    private readonly record struct StepSpan(Dictionary<Labels, List<Sample>> Series, long Points);

    /// <summary>Evaluates the steps from <paramref name="fromMs"/> to <paramref name="toMs"/> of a range query over
    /// [<paramref name="startMs"/>, <paramref name="endMs"/>].</summary>
    private StepSpan EvaluateSteps(Expr expr, long startMs, long endMs, long fromMs, long toMs, long stepMs, CancellationToken ct)
    {
        using var ev = new Evaluator(_source, _options, expr, startMs, endMs, fromMs, toMs, stepMs, ct);
        var series = new Dictionary<Labels, List<Sample>>();
        var previous = new List<(Labels Labels, List<Sample> Samples)>();
        long points = 0;

        // The first span's series lists are the query's result, the later spans' points are appended to them: room for
        // every step of the query up front saves copying them into larger arrays.
        var presizeToMs = fromMs == startMs ? endMs : toMs;
        if (expr is CallExpr call)
        {
            fromMs = CopyStepBlocks(ev, call, fromMs, toMs, presizeToMs, stepMs, series, ref points);
        }

        for (var ts = fromMs; ts <= toMs; ts += stepMs)
        {
            switch (ev.EvalTop(expr, ts))
            {
                case ScalarValue s:
                    Append(series, Labels.Empty, new Sample(ts, s.Value));
                    points++;
                    break;
                case List<VectorSample> v:
                    // Steps usually answer the same label sets (the same instances) in the same order: reuse the
                    // previous step's lists by position before looking a label set up.
                    for (var i = 0; i < v.Count; i++)
                    {
                        var x = v[i];
                        List<Sample> target;
                        if (i < previous.Count && ReferenceEquals(previous[i].Labels, x.Metric))
                        {
                            target = previous[i].Samples;
                        }
                        else
                        {
                            target = Append(series, x.Metric, (int)Math.Min(((presizeToMs - ts) / stepMs) + 1, MaxPresizedPoints));
                            if (i < previous.Count)
                            {
                                previous[i] = (x.Metric, target);
                            }
                            else
                            {
                                previous.Add((x.Metric, target));
                            }
                        }

                        target.Add(new Sample(ts, x.Value));
                    }

                    points += v.Count;
                    break;
                default:
                    throw new QueryException("unexpected result type", -1, "execution");
            }

            if (points > _options.MaxSamples)
            {
                throw TooManySamples();
            }
        }

        return new StepSpan(series, points);
    }

    /// <summary>A range function at the top of a range query, computed in step blocks: copies each block's rows straight
    /// into the result series (no vector per step, no lookup per point). Returns the first step left to the step-by-step
    /// path: past <paramref name="toMs"/> when every step was copied, or where a block is not available or its label sets
    /// collide (the step-by-step path then raises the error).</summary>
    private long CopyStepBlocks(Evaluator ev, CallExpr call, long fromMs, long toMs, long presizeToMs, long stepMs, Dictionary<Labels, List<Sample>> series, ref long points)
    {
        var keepName = Functions.KeepsName(call);
        var ts = fromMs;
        while (ts <= toMs && Functions.StepBlockAt(ev, call, ts) is { } block && (keepName ? block.Unique : block.UniqueWithoutName))
        {
            var first = block.StepOf(ts, stepMs);
            var end = (int)Math.Min(block.Steps, first + ((toMs - ts) / stepMs) + 1);
            for (var k = first; k < end; k++)
            {
                ev.StartStep();
                ev.CountSamples(block.StepSamples[k]);
                points += block.PresentCount[k];
            }

            if (points > _options.MaxSamples)
            {
                throw TooManySamples();
            }

            var labels = keepName ? block.Labels : block.NoName;
            for (var row = 0; row < block.Series; row++)
            {
                List<Sample>? target = null;
                for (var k = first; k < end; k++)
                {
                    var cell = block.Cell(row, k);
                    if (!block.Present[cell])
                    {
                        continue;
                    }

                    target ??= Append(series, labels[row], (int)Math.Min(((presizeToMs - ts) / stepMs) + 1, MaxPresizedPoints));
                    target.Add(new Sample(block.FirstTs + (k * stepMs), block.Values[cell]));
                }
            }

            ts += (end - first) * stepMs;
        }

        return ts;
    }

    private static QueryException TooManySamples() =>
        new("query processing would load too many samples into memory in query execution", -1, "execution");

    private static void Append(Dictionary<Labels, List<Sample>> series, Labels labels, Sample s) => Append(series, labels).Add(s);

    /// <summary>A series new in a range query's result gets room for a point at every remaining step, up to this many.</summary>
    private const int MaxPresizedPoints = 4096;

    private static List<Sample> Append(Dictionary<Labels, List<Sample>> series, Labels labels, int capacity = 0)
    {
        if (!series.TryGetValue(labels, out var list))
        {
            list = new List<Sample>(capacity);
            series[labels] = list;
        }

        return list;
    }

    private static List<SeriesSamples> SortedMatrix(List<SeriesSamples> m)
    {
        m.Sort((a, b) => LabelOps.Compare(a.Labels, b.Labels));
        return m;
    }

    private static QueryResult Run(Func<QueryResult> body, CancellationToken ct)
    {
        try
        {
            return body();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw new QueryException("query was canceled in query execution", -1, "canceled");
        }
        catch (RegexMatchTimeoutException ex)
        {
            throw new QueryException($"regular expression timed out: {ex.Pattern}", -1, "execution");
        }
    }
}
